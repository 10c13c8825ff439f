"""The API under test: the real application over the session's runtime (real Postgres and
Redis), driven in-process through Starlette's TestClient; tenants, keys and a small seeded
dataset (one file connection synced, matched, published and applied) for tenant B."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from autonomos.api import create_app
from autonomos import notifications
from autonomos.services import apikeys, connections, mappings, review, sync, webhooks
from autonomos.services.worker import run_worker

CSV = ("Id,FirstName,LastName,Email,Title\n"
       "0031,Ada,Lovelace,ada@example.com,CTO\n"
       "0032,Grace,Hopper,grace@navy.mil,Rear Admiral\n")
from tests.conftest import tenant_files


@pytest.fixture(scope="module")
def app(rt):
    return create_app(rt)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def key_for(rt):
    """A new key of ``role`` for ``tenant_id``: ``{"Authorization": "Bearer ..."}``."""

    def make(tenant_id: uuid.UUID, role: str = "admin") -> dict[str, str]:
        _, key = apikeys.create_key(rt, tenant_id, role, actor="test")
        return {"Authorization": f"Bearer {key}"}

    return make


@dataclass
class Seeded:
    tenant_id: uuid.UUID
    connection_id: str
    run_id: uuid.UUID
    record_id: str
    proposal_id: uuid.UUID
    version_id: uuid.UUID
    key_id: uuid.UUID
    item_id: int
    snapshot_id: uuid.UUID
    ontology_version_id: uuid.UUID
    agent_run_id: uuid.UUID
    eval_run_id: uuid.UUID
    link_id: uuid.UUID
    webhook_id: uuid.UUID
    delivery_id: uuid.UUID
    drift_event_id: uuid.UUID


@pytest.fixture(scope="module")
def seeded(rt, tmp_path_factory) -> Seeded:
    """Tenant B with one object of every kind the id routes address."""
    from autonomos.services import tenants, records

    tenant = tenants.create_tenant(rt, f"api-b-{uuid.uuid4().hex[:8]}", actor="test").id
    path = tenant_files(rt, tenant) / "contacts.csv"
    path.write_text(CSV)
    conn = connections.create_connection(rt, tenant, provider="files", name="crm", actor="test",
                                         config={"path": str(path), "stream": "contacts", "primary_key": ["Id"]})
    started = sync.start_sync(rt, tenant, "crm", actor="test")
    run_worker(rt, burst=True)
    review.propose_stream(rt, tenant, "crm", "contacts", actor="test")
    review.accept_auto(rt, tenant, "crm", "contacts", actor="test")
    proposal = review.list_queue(rt, tenant, status=None)[0]
    published = mappings.publish_reviewed(rt, tenant, "crm", "contacts", actor="test")
    record = records.list_records(rt, tenant, "contact")[0]
    key, _ = apikeys.create_key(rt, tenant, "reader", name="seeded", actor="test")
    hook, _ = webhooks.create_webhook(rt, tenant, "http://127.0.0.1:9/hook", ["seeded.kind"], actor="test")
    notifications.publish(rt, tenant, "seeded.kind", {})
    delivery = webhooks.list_deliveries(rt, tenant, hook.id)[0]
    rows = _operational_rows(rt, tenant, uuid.UUID(conn.id), uuid.UUID(record["id"]))
    return Seeded(tenant, conn.id, started.run.id, record["id"], proposal.id, published[0].version.id, key.id,
                  webhook_id=hook.id, delivery_id=delivery.id, **rows,
                  drift_event_id=_open_drift_event(rt, tenant, tmp_path_factory.mktemp("drift")))


def _open_drift_event(rt, tenant: uuid.UUID, folder) -> uuid.UUID:
    """An open breaking drift event as a sync detects it: a second connection over its own file
    (unmapped, so the records and mappings of ``crm`` stay as they are) loses a column."""
    from tests.services.test_drift import base_rows, synced_stream

    stream = synced_stream(rt, tenant, folder / "accounts.csv")
    stream.sync([{k: v for k, v in r.items() if k != "Industry"} for r in base_rows()])
    (event,) = stream.events()
    assert (event.kind, event.status) == ("field_removed", "open")
    return event.id


def _operational_rows(rt, tenant: uuid.UUID, connection_id: uuid.UUID, record_id: uuid.UUID) -> dict:
    """The rows no quick flow makes (a quarantined record, an eval run, an entity link), written
    as their stages write them, and the ids of those the flow made (snapshot, matcher run, ontology)."""
    from sqlalchemy import select

    from autonomos.services import ontology
    from autonomos.store.tables import AgentRun, EntityLink, EvalRun, Quarantine, SchemaSnapshot

    with rt.db.tenant(tenant) as session:
        item = Quarantine(tenant_id=tenant, connection_id=connection_id, stream="contacts", stage="landing",
                          reason="missing primary key: Id", payload={"FirstName": "Alan"})
        run = EvalRun(tenant_id=tenant, matcher="offline", gold_files=["g.json"], scores={"pooled": {"f1": 1.0}})
        link = EntityLink(tenant_id=tenant, entity="contact", left_record_id=record_id, right_record_id=uuid.uuid4(),
                          match_key="email", match_value="ada@example.com")
        session.add_all([item, run, link])
        session.flush()
        snapshot = session.scalar(select(SchemaSnapshot.id).where(SchemaSnapshot.tenant_id == tenant))
        agent_run = session.scalar(select(AgentRun.id).where(AgentRun.tenant_id == tenant))
        ids = {"item_id": item.id, "eval_run_id": run.id, "link_id": link.id, "snapshot_id": snapshot,
               "agent_run_id": agent_run}
    ids["ontology_version_id"] = ontology.list_ontologies(rt, tenant)[0].version_id
    return ids


def files_config(rt, tenant_id, name: str = "x.csv") -> dict:
    """A files connection config inside the tenant's own files folder (the sandbox refuses others)."""
    return {"path": str(tenant_files(rt, tenant_id) / name), "stream": "s"}
