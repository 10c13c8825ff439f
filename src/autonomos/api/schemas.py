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
    drift_policy: Literal["propagate", "hold", "ignore"] | None = Field(
        default=None, description="What a detected schema change does; streams no longer held are applied.")


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


class ProposalEdit(Strict):
    field: str | None = Field(default=None, max_length=200,
                              description="'entity.field' to map to (default: the top candidate).")
    transform: list[dict[str, Any]] | dict[str, Any] | None = Field(
        default=None, description='A transform step or a list of steps, e.g. {"op": "epoch", "unit": "ms"}.')
    comment: str | None = Field(default=None, max_length=2000)


class ProposalSplit(Strict):
    fields: list[str] = Field(min_length=2, max_length=20,
                              description="Canonical fields in the order of the parts; the last takes the rest.")
    separator: str = Field(min_length=1, max_length=16)
    transform: list[dict[str, Any]] | dict[str, Any] | None = Field(
        default=None, description="Steps run on every part after the split.")
    comment: str | None = Field(default=None, max_length=2000)


class AcceptAuto(Strict):
    connection: str = Field(min_length=1, max_length=200)
    stream: str | None = Field(default=None, max_length=500)


class CursorReset(Strict):
    stream: str | None = Field(default=None, max_length=500, description="Only this stream (default: all).")


class QuarantineRetry(Strict):
    payload: dict[str, Any] | None = Field(default=None, description="A corrected record (default: the stored one).")


class OntologyImport(Strict):
    document: dict[str, Any] = Field(description="The ontology in the import format: name, tables and an optional glossary.")
    extend: bool = Field(default=False, description="Lay it over the current version instead of replacing it.")


class TenantCreate(Strict):
    slug: str = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str | None = Field(default=None, max_length=200)
