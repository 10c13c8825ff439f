"""Helpers for apply tests: a tenant with a connection, landing records directly, publishing fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from autonomos.aam.connectors.base import RecordMessage, StreamSpec
from autonomos.aam.sync.landing import Lander
from autonomos.services import connections, mappings
from autonomos.services.records import change_history
from autonomos.store.tables import CanonicalEvent, CanonicalRecord, Quarantine


@dataclass
class Source:
    rt: object
    tenant_id: uuid.UUID
    connection: str
    connection_id: uuid.UUID
    stream: StreamSpec

    def land(self, *records: dict, deleted: tuple[str, ...] = ()) -> None:
        key = self.stream.primary_key[0]
        messages = [RecordMessage(self.stream.name, r, deleted=r[key] in deleted) for r in records]
        with self.rt.db.tenant(self.tenant_id) as session:
            Lander(self.tenant_id, self.connection_id, self.stream, None).land(session, messages)

    def publish(self, entity: str, fields: list[dict]) -> mappings.PublishResult:
        return mappings.publish_fields(self.rt, self.tenant_id, self.connection, self.stream.name, entity, fields,
                                       actor="test")

    def publish_only(self, entity: str, fields: list[dict]):
        """Publish without the backfill (the test applies the version itself); the version row."""
        return mappings.publish_fields(self.rt, self.tenant_id, self.connection, self.stream.name, entity, fields,
                                       actor="test", apply=False).version

    def records(self, entity: str) -> dict[str, dict]:
        with self.rt.db.tenant(self.tenant_id) as session:
            rows = session.scalars(select(CanonicalRecord).where(CanonicalRecord.entity == entity,
                                                                 CanonicalRecord.connection_id == self.connection_id))
            return {r.record_key: r.data for r in rows if not r.is_deleted}

    def events(self, entity: str) -> list[CanonicalEvent]:
        with self.rt.db.tenant(self.tenant_id) as session:
            return list(session.scalars(select(CanonicalEvent).where(
                CanonicalEvent.entity == entity, CanonicalEvent.connection_id == self.connection_id)
                .order_by(CanonicalEvent.seq)))

    def change_log(self, entity: str) -> list[SimpleNamespace]:
        """The entity's changes in order: event id, full before and after, per-field diff."""
        with self.rt.db.tenant(self.tenant_id) as session:
            return [SimpleNamespace(**h) for h in change_history(session, self.tenant_id, entity=entity)]

    def quarantined(self) -> list[Quarantine]:
        with self.rt.db.tenant(self.tenant_id) as session:
            return list(session.scalars(select(Quarantine).where(Quarantine.stage == "apply").order_by(Quarantine.id)))


def make_source(rt, tenant_id: uuid.UUID, name: str, stream: str, key: str) -> Source:
    info = connections.create_connection(rt, tenant_id, provider="files", name=name, config={}, actor="test")
    return Source(rt, tenant_id, name, uuid.UUID(info.id), StreamSpec(stream, primary_key=(key,)))


@pytest.fixture
def source(rt, make_tenant) -> Source:
    tenant = make_tenant("apply")
    return make_source(rt, tenant.id, "crm", "contacts", "id")
