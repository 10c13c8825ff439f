"""A running ``aos worker`` keeps the vector store current by itself: its upkeep round drains
the embedding outbox (and reconciles), with no person running ``aos vectors drain``."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from autonomos.dcl.vectors import vector_store
from autonomos.services import ontology
from autonomos.services.upkeep import upkeep
from autonomos.store.tables import EmbeddingOutbox
from tests.conftest import subprocess_env


def _pending(rt, tenant_id) -> int:
    with rt.db.tenant(tenant_id) as session:
        return session.scalar(select(func.count()).select_from(EmbeddingOutbox).where(
            EmbeddingOutbox.tenant_id == tenant_id, EmbeddingOutbox.processed_at.is_(None)))


def test_one_upkeep_round_drains_the_outbox(vrt, make_tenant, eventually):
    tenant = make_tenant("upk")
    ontology.list_ontologies(vrt, tenant.id)  # seeds crm: one outbox row per canonical field
    pending = _pending(vrt, tenant.id)
    assert pending > 0
    report = upkeep(vrt)
    assert report.reconciled is not None and report.vectors is not None
    assert report.vectors.upserted >= pending and _pending(vrt, tenant.id) == 0
    assert eventually(lambda: vector_store(vrt).count(tenant.id) == pending)


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
