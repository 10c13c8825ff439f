"""A running ``aos worker`` keeps the vector store current by itself: its upkeep round drains
the embedding outbox (and reconciles), with no person running ``aos vectors drain``.

An upkeep round drains the outbox of every tenant in the database, so this module works in a
migrated database of its own: the round embeds this module's rows, not the backlog of every
tenant the session created before it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from autonomos.dcl.vectors import vector_store
from autonomos.services import ontology, tenants
from autonomos.services.upkeep import upkeep
from autonomos.store.tables import EmbeddingOutbox
from tests.conftest import migrated_database, subprocess_env


@pytest.fixture(scope="module")
def database_url(server_url) -> Iterator[str]:
    """This module's own migrated database (``vrt`` builds its runtime over it)."""
    with migrated_database(server_url, "aos_upkeep") as url:
        yield url


@pytest.fixture
def make_tenant(vrt):
    """Tenants in this module's database."""
    return lambda prefix="t": tenants.create_tenant(vrt, f"{prefix}-{uuid.uuid4().hex[:8]}", actor="test")


def _pending(rt, tenant_id) -> int:
    with rt.db.tenant(tenant_id) as session:
        return session.scalar(select(func.count()).select_from(EmbeddingOutbox).where(
            EmbeddingOutbox.tenant_id == tenant_id, EmbeddingOutbox.processed_at.is_(None)))


def test_one_upkeep_round_drains_the_outbox(vrt, make_tenant, eventually):
    tenant = make_tenant("upk")
    ontology.list_ontologies(vrt, tenant.id)  # seeds crm: one outbox row per canonical field
    pending = _pending(vrt, tenant.id)
    assert pending > 0
    report, upserted = upkeep(vrt), 0
    for _ in range(pending):  # a round drains a time-boxed slice; ``more`` asks for the next at once
        assert report.reconciled is not None and report.vectors is not None and report.webhooks is not None
        upserted += report.vectors.upserted
        if not report.more:
            break
        report = upkeep(vrt)
    assert not report.more and upserted >= pending and _pending(vrt, tenant.id) == 0
    assert eventually(lambda: vector_store(vrt).count(tenant.id) == pending)


def test_a_round_sends_due_webhooks_before_it_embeds_a_backlog(vrt, monkeypatch):
    """Deliveries are quick and someone waits for them; the outbox drain may take minutes."""
    from autonomos.services import upkeep as round_

    order = []

    def noting(part, real):  # the real call, noted: nothing is replaced
        def call(rt, *args, **kwargs):
            order.append(part)
            return real(rt, *args, **kwargs)
        return call

    monkeypatch.setattr(round_, "deliver_due", noting("webhooks", round_.deliver_due))
    monkeypatch.setattr(round_, "drain_outbox", noting("vectors", round_.drain_outbox))
    report = upkeep(vrt)
    assert order == ["webhooks", "vectors"] and report.webhooks is not None and report.vectors is not None


def test_a_running_worker_drains_the_outbox_without_being_asked(vrt, make_tenant, eventually):
    tenant = make_tenant("upk")
    worker = subprocess.Popen([sys.executable, "-m", "autonomos.cli", "worker"], env=subprocess_env(vrt.settings, AOS_WORKER_UPKEEP_S="0.5"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ontology.list_ontologies(vrt, tenant.id)  # new outbox rows while the worker runs
        seeded = _pending(vrt, tenant.id)
        assert seeded > 0
        deadline = time.monotonic() + 60
        while _pending(vrt, tenant.id) and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
        assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
        assert _pending(vrt, tenant.id) == 0
        assert eventually(lambda: vector_store(vrt).count(tenant.id) == seeded)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
