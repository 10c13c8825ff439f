"""Request bodies of the HTTP API (responses are the service layer's records as JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectionCreate(Strict):
    provider: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, Any] | None = Field(default=None, description="Write-only: never returned.")
    schedule: str | None = None


class ConnectionUpdate(Strict):
    config: dict[str, Any] | None = None
    credentials: dict[str, Any] | None = Field(default=None, description="Write-only: never returned.")
    schedule: str | None = None


class SyncStart(Strict):
    connection: str = Field(min_length=1, description="Connection name or id.")
    streams: list[str] | None = None
    full: bool = False


class ProposalDecision(Strict):
    field: str | None = Field(default=None, description="approve: 'entity.field' to map to instead of the top candidate; "
                                                        "reject: the candidate rejected (default: the top one).")
    comment: str | None = Field(default=None, max_length=2000)


class MappingPublish(Strict):
    connection: str = Field(min_length=1)
    stream: str = Field(min_length=1)
    apply: bool = True


class ApiKeyCreate(Strict):
    role: Literal["admin", "reviewer", "reader"]
    name: str | None = Field(default=None, max_length=200)
