"""Every table of the system of record, grouped by concern. Importing this package
registers them all on ``Base.metadata`` (Alembic's env and the tests rely on that)."""

from autonomos.store.tables.api import IdempotencyKey, PlatformApiKey
from autonomos.store.tables.apply import ApplyRun
from autonomos.store.tables.canonical import (
    CanonicalEvent,
    CanonicalRecord,
    ChangeLog,
    DriftEvent,
    EntityLink,
    SchemaSnapshot,
)
from autonomos.store.tables.console import ConsoleSession
from autonomos.store.tables.catalogue import DefaultOntology, Provider
from autonomos.store.tables.connections import (
    Connection,
    LandingStaging,
    Quarantine,
    RawRecord,
    RawRecordHead,
    StreamState,
    SyncRun,
    SyncRunKey,
)
from autonomos.store.tables.ontology import (
    CanonicalSchema,
    CanonicalSchemaVersion,
    Mapping,
    MappingProposal,
    MappingVersion,
    Review,
)
from autonomos.store.tables.notifications import Notification, Webhook, WebhookDelivery
from autonomos.store.tables.operations import AgentRun, AuditLog, EmbeddingOutbox, EvalRun
from autonomos.store.tables.tenancy import ApiKey, PlatformAuditLog, Tenant, User

__all__ = [
    "AgentRun",
    "ApiKey",
    "ApplyRun",
    "AuditLog",
    "IdempotencyKey",
    "PlatformApiKey",
    "CanonicalEvent",
    "CanonicalRecord",
    "CanonicalSchema",
    "CanonicalSchemaVersion",
    "ChangeLog",
    "ConsoleSession",
    "Connection",
    "DefaultOntology",
    "DriftEvent",
    "EmbeddingOutbox",
    "EntityLink",
    "EvalRun",
    "LandingStaging",
    "Mapping",
    "MappingProposal",
    "MappingVersion",
    "Notification",
    "PlatformAuditLog",
    "Provider",
    "Quarantine",
    "RawRecord",
    "RawRecordHead",
    "Review",
    "SchemaSnapshot",
    "StreamState",
    "SyncRun",
    "SyncRunKey",
    "Tenant",
    "User",
    "Webhook",
    "WebhookDelivery",
]
