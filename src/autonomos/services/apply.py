"""Applying published mapping versions: after a publish (backfill) and after every sync.

After a sync (``services/worker.py``), the post-landing hook creates a pending incremental apply
run for every current version of the connection's mappings in the transaction that marks the sync
``succeeded`` (``create_post_sync_applies``), checks drift, then queues them as jobs of their own
(``queue_post_sync_applies``); the job applies and resolves the touched entities again; ``apply_connection`` does the
same at once for a released stream. A failure here is logged and recorded on the apply
run; it never turns a successful sync into a failed one.

Apply runs are runs (``dcl.apply.runs``): ``reconcile_applies`` (each worker's upkeep) counts
a lost attempt for every apply run whose worker stopped heartbeating, and enqueues every due
pending one as a job (``run_apply_job``) on the sync queue, which resumes it from its last
committed batch. So a worker or ``aos mapping publish`` killed during an apply leaves nothing
``running`` for ever, and what a sync landed gets applied without a person.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from autonomos.aam.sync.jobs import enqueue_run
from autonomos.dcl.apply import ApplyReport, apply_version, create_apply_run, execute_apply
from autonomos.dcl.apply import runs as apply_runs
from autonomos.dcl.apply.resolution import resolve_entity
from autonomos.dcl.mappings.versions import current_version
from autonomos.notifications import publish
from autonomos.runtime import Runtime
from autonomos.services.sync_inputs import job_queue, worker_runtime
from autonomos.store.maintenance import maintenance_database
from autonomos.store.tables import Mapping, Tenant

logger = logging.getLogger(__name__)

APPLY_JOB = "autonomos.services.apply.run_apply_job"
"""The job function of apply runs on the sync queue."""


def _run_options(rt: Runtime) -> dict:
    """Memory, backoff and a heartbeat well inside the timeout after which a run counts as lost."""
    return {"memory_limit": rt.settings.duckdb_memory_limit, "writers": rt.settings.apply_writers,
            "backoff_s": rt.settings.retry_backoff_s,
            "heartbeat_s": min(5.0, rt.settings.sync_heartbeat_timeout_s / 3)}


def apply_and_resolve(rt: Runtime, tenant_id: uuid.UUID, version_id: uuid.UUID, *, trigger: str,
                      incremental: bool = False) -> ApplyReport:
    """Apply one version, then re-resolve its entity across sources."""
    report = apply_version(rt.db, tenant_id, version_id, trigger=trigger, incremental=incremental,
                           **_run_options(rt))
    if report.counts.changed:
        resolve(rt, tenant_id, [report.entity])
    return report


def resolve(rt: Runtime, tenant_id: uuid.UUID, entities: Iterable[str]) -> dict[str, int]:
    """Recompute entity links of ``entities`` under the tenant's match keys; links per entity."""
    out: dict[str, int] = {}
    with rt.db.tenant(tenant_id) as session:
        settings = session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id)) or {}
        for entity in sorted(set(entities)):
            out[entity] = resolve_entity(session, tenant_id, entity, settings.get("match_keys"))
    return out


def apply_connection(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID,
                     streams: Iterable[str] | None = None) -> list[ApplyReport]:
    """Apply the current version of each of the connection's mappings to newly landed records."""
    reports: list[ApplyReport] = []
    try:
        with rt.db.tenant(tenant_id) as session:
            current = [version for _, version in _current_versions(session, tenant_id, connection_id, streams)]
        for version in current:
            try:
                reports.append(apply_version(rt.db, tenant_id, version.id, trigger="sync", incremental=True,
                                             **_run_options(rt)))
            except Exception:  # recorded on its apply run; the other mappings still apply
                logger.exception("apply after sync failed", extra={"mapping_version_id": str(version.id)})
        touched = [r.entity for r in reports if r.counts.changed]
        if touched:
            resolve(rt, tenant_id, touched)
    except Exception:  # the sync itself succeeded; the next one (or a publish) catches up
        logger.exception("apply after sync failed", extra={"connection_id": str(connection_id)})
    return reports


def _current_versions(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID,
                      streams: Iterable[str] | None) -> list[tuple[str, Any]]:
    """(stream, current version) of each of the connection's mappings of ``streams`` (all if empty)."""
    wanted = set(streams or [])
    mappings = session.scalars(select(Mapping).where(Mapping.tenant_id == tenant_id,
                                                     Mapping.connection_id == connection_id)).all()
    return [(m.stream, v) for m in mappings if not wanted or m.stream in wanted
            if (v := current_version(session, tenant_id, m.id)) is not None]


def create_post_sync_applies(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID,
                             streams: Iterable[str], *, not_before_s: float) -> dict[str, list[uuid.UUID]]:
    """In the transaction that marks a sync ``succeeded``: a pending incremental apply run for
    each current version of the connection's mappings of ``streams`` (all if empty), held back
    ``not_before_s`` for the worker that ran the sync (it checks drift first). If that worker dies,
    the runs become due and any worker applies them: a succeeded sync always has its apply."""
    created: dict[str, list[uuid.UUID]] = {}
    for stream, version in _current_versions(session, tenant_id, connection_id, streams):
        try:
            with session.begin_nested():  # a mapping that cannot apply must not undo the sync's success
                run_id = create_apply_run(session, tenant_id, version.id, trigger="sync", incremental=True,
                                          not_before_s=not_before_s)
        except Exception:
            logger.exception("creating the apply after sync failed", extra={"mapping_version_id": str(version.id)})
            continue
        created.setdefault(stream, []).append(run_id)
    return created


@contextmanager
def held_back(rt: Runtime, tenant_id: uuid.UUID, run_ids: list[uuid.UUID], seconds: float) -> Iterator[None]:
    """Keep pending apply runs from other workers while this one works before them (a drift check
    with its repairs can outlast any fixed delay); when this process dies, they fall due."""
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(seconds / 3):
            try:
                with rt.db.tenant(tenant_id) as session:
                    apply_runs.defer(session, tenant_id, run_ids, seconds)
            except Exception:  # the runs fall due a little early: another worker may apply them
                logger.warning("holding back the apply after sync failed", exc_info=True)

    keeper = threading.Thread(target=keep, name="apply-hold", daemon=True)
    if run_ids:
        keeper.start()
    try:
        yield
    finally:
        stop.set()
        if run_ids:
            keeper.join()


def queue_post_sync_applies(rt: Runtime, tenant_id: uuid.UUID, created: dict[str, list[uuid.UUID]],
                            apply_streams: list[str] | None) -> list[uuid.UUID]:
    """Make the sync's apply runs of the streams to apply (``None``: all) due and put each on the
    queue as a job of its own; those of held streams are dropped (releasing the stream applies
    what landed meanwhile). Returns the queued runs.

    The sync's job ends here instead of applying too, so its slot goes to the next job in line:
    the tenant's next sync (a hand-off puts it at the head) starts while this apply waits its
    turn, and a tenant held to one sync at a time is not held up by its own applies. If Redis
    loses a job, the run is due in Postgres and the reconciler enqueues it again."""
    held = [i for stream, ids in created.items() if apply_streams is not None and stream not in apply_streams
            for i in ids]
    due = [i for ids in created.values() for i in ids if i not in held]
    with rt.db.tenant(tenant_id) as session:
        apply_runs.discard_pending(session, tenant_id, held)
        apply_runs.defer(session, tenant_id, due, 0)
    queue = job_queue(rt)
    for run_id in due:
        try:
            enqueue_run(queue, tenant_id, run_id, function=APPLY_JOB)
        except Exception:  # due in Postgres: the next reconcile enqueues it
            logger.warning("queueing the apply after sync failed", exc_info=True, extra={"apply_run_id": str(run_id)})
    return due


def resume(rt: Runtime, tenant_id: uuid.UUID, run_id: uuid.UUID) -> ApplyReport | None:
    """Claim an apply run and continue it from its last committed batch, then re-resolve its
    entity; None if it was not claimable (running elsewhere, final, or waiting for backoff)."""
    report = execute_apply(rt.db, tenant_id, run_id, **_run_options(rt))
    if report is not None and report.counts.changed:
        resolve(rt, tenant_id, [report.entity])
    return report


def resume_backfill(rt: Runtime, tenant_id: uuid.UUID, version_id: uuid.UUID) -> ApplyReport | None:
    """Publishing an unchanged version again: if its backfill never finished, continue it here
    (a failed or abandoned one gets a fresh set of attempts). None if there is nothing to resume
    or it is running elsewhere."""
    with rt.db.tenant(tenant_id) as session:
        run = apply_runs.unfinished_backfill(session, tenant_id, version_id)
        if run is None:
            return None
        run_id = run.id
        apply_runs.count_if_lost(session, run, rt.settings.sync_heartbeat_timeout_s, rt.settings.retry_backoff_s)
        apply_runs.reopen(session, tenant_id, run_id)
    return resume(rt, tenant_id, run_id)


def run_apply_job(tenant_id: str, run_id: str) -> str | None:
    """The job function of an apply run (enqueued by ``reconcile_applies``)."""
    rt = worker_runtime()
    own = rt is None
    if own:
        from autonomos.config import load_settings

        rt = Runtime(load_settings())
    try:
        report = resume(rt, uuid.UUID(tenant_id), uuid.UUID(run_id))
        return report.status if report else None
    finally:
        if own:
            rt.close()


def reconcile_applies(rt: Runtime) -> tuple[int, int]:
    """Lost apply attempts counted (retry or abandon), due pending runs enqueued; returns
    (runs whose worker was lost, runs enqueued)."""
    lost, due = apply_runs.reconcile(maintenance_database(rt), rt.settings.sync_heartbeat_timeout_s,
                                     rt.settings.retry_backoff_s)
    for item in lost:
        if item.outcome.status == "abandoned":
            logger.warning("apply run abandoned after %d failed attempts in a row", item.outcome.failures,
                           extra={"apply_run_id": str(item.run_id)})
            publish(rt, item.tenant_id, "apply.abandoned", {"apply_run_id": str(item.run_id),
                                                            "error": item.outcome.error})
    queue = job_queue(rt)
    enqueued = sum(1 for tenant_id, run_id in due
                   if enqueue_run(queue, tenant_id, run_id, trust_started=False, function=APPLY_JOB))
    return len(lost), enqueued
