"""Response bodies of the HTTP API, declared so that the OpenAPI document describes what each
route really answers (the schema tests hold every response to it). JSON documents the
platform stores as given (configs, payloads, profiles, scores) are open objects."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from autonomos.services.apikeys import KeyInfo as ApiKey
from autonomos.services.mappings import VersionInfo as MappingVersion
from autonomos.services.quarantine import QuarantineItem
from autonomos.services.review import ProposalInfo as Proposal
from autonomos.services.tenants import TenantInfo as Tenant

T = TypeVar("T")
Json = dict[str, Any]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page; null on the last page.")


class Problem(BaseModel):
    """``application/problem+json`` (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[Json] | None = None
    context: dict[str, str] | None = None


class Connection(BaseModel):
    id: str
    provider: str
    name: str
    config: Json
    has_credentials: bool
    schedule: str | None
    status: str
    drift_policy: str = Field(description="propagate, hold or ignore: what a detected schema change does.")


class ConnectionTest(BaseModel):
    ok: bool
    message: str


class CursorReset(BaseModel):
    connection_id: str
    stream: str | None
    cursors_removed: int


class Stream(BaseModel):
    connection_id: str
    stream: str
    cursor: Json | None
    cursor_updated_at: str | None
    fingerprint: str | None
    last_snapshot_at: str | None
    snapshots: int


class Snapshot(BaseModel):
    id: str
    connection_id: str
    stream: str
    fingerprint: str
    recipe: str
    fields: list[Any]
    observed_at: str | None
    profile: Json | None = None


class ConnectorKind(BaseModel):
    provider: str
    config_schema: Json


class SyncRun(BaseModel):
    id: uuid.UUID
    connection_id: uuid.UUID
    streams: list[str]
    mode: str
    status: str
    attempts: int
    counts: Json
    error: Json | None
    control: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    failures: int
    next_attempt_at: dt.datetime | None
    history: list[Json]


class StartedRun(SyncRun):
    created: bool




class OntologyVersion(BaseModel):
    id: uuid.UUID
    name: str
    version: int
    content_hash: str
    entities: int
    fields: int
    created_by: str
    created_at: dt.datetime
    content: Json | None = None


class OntologyImported(BaseModel):
    version: OntologyVersion
    created: bool






class Published(BaseModel):
    version: MappingVersion
    created: bool
    applied: Json | None
    problem: str | None = None


class PublishedList(BaseModel):
    items: list[Published]


class MappingDiff(BaseModel):
    old: MappingVersion
    new: MappingVersion
    changes: list[Json]


class CanonicalRecord(BaseModel):
    id: str
    entity: str
    connection: str
    connection_id: str
    stream: str
    record_key: str
    data: Json
    is_deleted: bool
    version: int
    mapping_version_id: str
    updated_at: str


class RecordDetail(CanonicalRecord):
    history: list[Json]
    unified: Json


class EventPage(BaseModel):
    items: list[Json]
    next_cursor: int


class Change(BaseModel):
    id: int
    record_id: str
    event_id: str
    event_seq: int
    entity: str
    op: str
    diff: Json | None
    changed_at: str | None


class EntityLink(BaseModel):
    id: str
    entity: str
    left_record_id: str
    right_record_id: str
    match_key: str
    match_value: str
    created_at: str | None


class AgentRun(BaseModel):
    id: str
    kind: str
    model: str | None
    status: str
    cost_usd: float | None
    duration_ms: int | None
    tokens: Json
    started_at: str | None
    finished_at: str | None
    inputs: Json | None = None
    outputs: Json | None = None
    evidence: Json | None = None


class EvalRun(BaseModel):
    id: str
    matcher: str
    model: str | None
    gold_files: list[Any]
    pooled: Json | None
    created_at: str | None
    scores: Json | None = None


class DriftEvent(BaseModel):
    id: uuid.UUID
    connection_id: uuid.UUID
    stream: str
    kind: str
    severity: str = Field(description="breaking, degrading or informational.")
    rule: str
    field: str
    status: str = Field(description="open, accepted, rejected, muted or repaired.")
    confidence: float | None
    before: Any = None
    after: Any = None
    detected_at: dt.datetime
    from_snapshot_id: uuid.UUID | None
    to_snapshot_id: uuid.UUID
    repair: Json | None = Field(description="The proposed (or published) repair: per mapping its action, fields, "
                                            "confidence and agent run; its status.")
    details: Json | None = Field(default=None, description="On the single event: sample values and the evidence "
                                                           "of the check, as ``aos drift show`` prints them.")


class DriftMutes(BaseModel):
    connection_id: uuid.UUID
    stream: str
    muted_kinds: list[str] = Field(description="Kinds of the stream recorded as muted: written, never announced, "
                                               "never holding.")


class AuditRow(BaseModel):
    id: int
    actor: str
    action: str
    target_type: str
    target_id: str | None
    before: Json | None
    after: Json | None
    at: str | None




@dataclass(frozen=True)
class NewApiKey(ApiKey):
    key: str = ""
    """The key itself: shown in this response only."""




class TenantDeleted(BaseModel):
    tenant: Tenant
    vectors: int
    redis_keys: int
