"""Per-connection schedules (``every 15m`` or a cron expression) turned into sync runs.

``aos scheduler`` calls ``tick`` in a loop; each tick also reconciles, so the scheduler
process is what keeps the queue honest when no person is around.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from croniter import croniter
from sqlalchemy import func, select

from autonomos.aam.sync import runs
from autonomos.aam.sync.inputs import SyncEngines
from autonomos.aam.sync.jobs import enqueue_run
from autonomos.aam.sync.reconciler import ReconcileReport, reconcile
from autonomos.errors import InvalidInput
from autonomos.store.maintenance import MaintenanceDatabase
from autonomos.store.tables import Connection, SyncRun

_EVERY = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def validate_schedule(schedule: str) -> None:
    """Raise InvalidInput (a schedule is the caller's input, answered 422 by the API) for a
    schedule that is neither ``every N(s|m|h|d)`` nor cron."""
    text = schedule.strip().lower()
    if _EVERY.match(text) or croniter.is_valid(schedule):
        return
    raise InvalidInput("schedule must be 'every N[s|m|h|d]' or a cron expression", schedule=schedule)


def next_due(schedule: str, last: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When the next run is due, given the last run's creation time (None: due now)."""
    if last is None:
        return now
    match = _EVERY.match(schedule.strip().lower())
    if match:
        return last + dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    return croniter(schedule, last).get_next(dt.datetime)


@dataclass(frozen=True)
class TickReport:
    started: list[uuid.UUID]
    reconciled: ReconcileReport


def tick(engines: SyncEngines, maintenance: MaintenanceDatabase, now: dt.datetime | None = None) -> TickReport:
    """Start every due scheduled sync, then reconcile (``maintenance``: the cross-tenant database)."""
    now = now or dt.datetime.now(dt.UTC)
    with maintenance.session() as session:
        last_run = (
            select(SyncRun.connection_id, func.max(SyncRun.created_at).label("last"))
            .group_by(SyncRun.connection_id).subquery()
        )
        rows = session.execute(
            select(Connection.tenant_id, Connection.id, Connection.schedule, last_run.c.last)
            .outerjoin(last_run, last_run.c.connection_id == Connection.id)
            .where(Connection.schedule.is_not(None), Connection.status == "active")
        ).all()
    started = []
    for tenant_id, connection_id, schedule, last in rows:
        try:
            due = next_due(schedule, last, now) <= now
        except (ValueError, KeyError):
            continue  # an invalid schedule was refused on write; never let one stop the others
        if not due:
            continue
        with engines.db.tenant(tenant_id) as session:
            run, created = runs.create_or_get_active(session, tenant_id, connection_id, [], "incremental")
        if created:
            enqueue_run(engines.queue, tenant_id, run.id)
            started.append(run.id)
    return TickReport(started, reconcile(engines, maintenance))
