"""Failed attempts of runs (sync runs, apply runs): retry with backoff, fail, or abandon.

Like rq's registries, a run's fate after a failure is decided in one place, in Postgres:

* an **engine outage** (Postgres or Redis unreachable, ``EngineUnavailable``) sends it back to
  ``pending`` with backoff and spends no attempt: nothing is wrong with the run;
* a **transient** failure (the error, or one of its causes, says ``transient``; a worker that
  died) sends it back to ``pending`` with exponential backoff and spends an attempt;
* a **terminal** failure fails it at once;
* ``max_attempts`` failures in a row without progress (tenant setting, default 5; a committed
  batch resets the count) end it ``abandoned``: it stops looping and waits for a person.

Each failure is stored as a structured error (kind, message, transient, causes) and appended
to the run's ``history``. ``next_attempt_at`` says when the run may be claimed again; the
reconcilers enqueue it when it is due.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from autonomos.errors import EngineUnavailable
from autonomos.store.database import Database
from autonomos.store.tables import Tenant

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 600.0
OUTAGE_PATIENCE_S = 600.0
"""How long a worker keeps trying to record a failed attempt while Postgres is unreachable."""
HISTORY_KEPT = 50
"""Failed attempts kept on a run (the oldest are dropped beyond it)."""

Kind = Literal["outage", "transient", "terminal"]


def stale_heartbeat_sql(column: str) -> str:
    """SQL condition: the run's heartbeat is older than ``:timeout`` seconds, and so is the server.

    While PostgreSQL is down no worker can heartbeat; right after it starts again every live
    run looks stale. Nobody is declared lost until the server has been up for a full timeout,
    which gives live workers (recording their outage, or heartbeating again) time to be heard.
    """
    return (f"({column} IS NULL OR {column} < now() - make_interval(secs => :timeout))"
            " AND pg_postmaster_start_time() < now() - make_interval(secs => :timeout)")


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes, outermost first (explicit ``from`` or implicit context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def _is_connection_error(exc: BaseException) -> bool:
    """A database or Redis connection that failed or was lost (the server is down or restarting)."""
    import psycopg
    import redis
    import sqlalchemy.exc

    if isinstance(exc, EngineUnavailable | psycopg.OperationalError | redis.ConnectionError | redis.TimeoutError):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError)


def classify(exc: BaseException) -> Kind:
    """Outage if any cause is a lost engine, transient if any cause says so, else terminal."""
    chain = list(causes(exc))
    if any(_is_connection_error(e) for e in chain):
        return "outage"
    if any(getattr(e, "transient", False) is True or isinstance(e, ConnectionError | TimeoutError) for e in chain):
        return "transient"
    return "terminal"


def error_record(exc: BaseException, kind: Kind | None = None) -> dict[str, Any]:
    """The structured error stored on a run: never local variables, only types and messages."""
    kind = kind or classify(exc)
    chain = list(causes(exc))
    return {
        "kind": type(exc).__name__,
        "message": str(exc)[:2000],
        "transient": kind != "terminal",
        "outage": kind == "outage",
        "causes": [{"kind": type(e).__name__, "message": str(e)[:500]} for e in chain[1:6]],
    }


def lost_worker_record() -> dict[str, Any]:
    return {"kind": "WorkerLost", "message": "the worker stopped heartbeating (killed, crashed or cut off)",
            "transient": True, "outage": False, "causes": []}


def max_attempts(session: Session, tenant_id: uuid.UUID) -> int:
    """The tenant's ``max_attempts`` setting (default 5)."""
    settings = session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id)) or {}
    try:
        return max(1, int(settings.get("max_attempts", DEFAULT_MAX_ATTEMPTS)))
    except (TypeError, ValueError):
        return DEFAULT_MAX_ATTEMPTS


def backoff_s(step: int, base_s: float = BACKOFF_BASE_S, max_s: float = BACKOFF_MAX_S) -> float:
    """Exponential backoff with a little jitter: base, 2 base, 4 base ... up to ``max_s``."""
    delay = min(max_s, base_s * (2 ** max(0, step - 1)))
    return delay * (1 + random.random() * 0.2)


@dataclass(frozen=True)
class Outcome:
    """What a failure did to the run: its new status, failures in a row, when it is tried again."""

    status: str
    failures: int
    next_attempt_at: dt.datetime | None
    error: dict[str, Any]


def record_failure(session: Session, model: type, tenant_id: uuid.UUID, run_id: uuid.UUID,
                   error: dict[str, Any], *, worker_id: str | None, base_s: float = BACKOFF_BASE_S,
                   terminal: bool | None = None, failed_at: dt.datetime | None = None) -> Outcome | None:
    """Decide and store the run's fate after a failed attempt (``model``: SyncRun or ApplyRun).

    Only the run's owner (``worker_id``), or the reconciler (``worker_id=None``, for a run whose
    worker is gone), may record a failure; returns None if the run is not running under it.
    The backoff counts from ``failed_at`` (default now; for a lost worker, its last heartbeat).
    """
    query = select(model).where(model.tenant_id == tenant_id, model.id == run_id, model.status == "running")
    if worker_id is not None:
        query = query.where(model.worker_id == worker_id)
    row = session.scalar(query.with_for_update())
    if row is None:
        return None
    outage = bool(error.get("outage"))
    terminal = (not error.get("transient")) if terminal is None else terminal
    failures = row.failures + (0 if outage else 1)
    history = list(row.history or [])
    now = dt.datetime.now(dt.UTC)
    history.append({"attempt": row.attempts, "at": now.isoformat(), "error": error})
    values: dict[str, Any] = {"failures": failures, "error": error, "history": history[-HISTORY_KEPT:],
                              "worker_id": None, "next_attempt_at": None}
    if terminal:
        values.update(status="failed", finished_at=now)
    elif failures >= max_attempts(session, tenant_id):
        values.update(status="abandoned", finished_at=now)
    else:
        step = _outages_in_a_row(history) if outage else failures
        values.update(status="pending",
                      next_attempt_at=(failed_at or now) + dt.timedelta(seconds=backoff_s(step, base_s)))
    session.execute(update(model).where(model.tenant_id == tenant_id, model.id == run_id).values(**values))
    return Outcome(values["status"], failures, values["next_attempt_at"], error)


def _outages_in_a_row(history: list[dict[str, Any]]) -> int:
    n = 0
    for entry in reversed(history):
        if not entry.get("error", {}).get("outage"):
            break
        n += 1
    return n


def record_failure_durably(db: Database, model: type, tenant_id: uuid.UUID, run_id: uuid.UUID, exc: BaseException,
                           *, worker_id: str, base_s: float = BACKOFF_BASE_S,
                           values: dict[str, Any] | None = None) -> Outcome | None:
    """``record_failure`` for the run's own worker, with ``values`` (counts) stored alongside.

    During an engine outage the failure cannot be written either, so the worker keeps trying
    (with backoff) until Postgres answers: the run goes back to ``pending`` without spending an
    attempt, instead of waiting for its heartbeat to time out. Returns None if the run is no
    longer this worker's; raises if Postgres stayed away for ``OUTAGE_PATIENCE_S`` (the
    reconciler takes the run from there).
    """
    error = error_record(exc)
    deadline = time.monotonic() + OUTAGE_PATIENCE_S
    wait = 0.5
    while True:
        try:
            with db.tenant(tenant_id) as session:
                outcome = record_failure(session, model, tenant_id, run_id, error, worker_id=worker_id, base_s=base_s)
                if outcome is not None and values:
                    session.execute(update(model).where(model.tenant_id == tenant_id, model.id == run_id)
                                    .values(**values))
                return outcome
        except Exception as write_error:
            if classify(write_error) != "outage" or time.monotonic() > deadline:
                raise
            if wait == 0.5:  # once: logging can block behind other threads' tracebacks, sleeping cannot
                logger.warning("cannot record the failed attempt yet (engine unavailable); trying every second")
            time.sleep(wait)
            wait = min(wait * 2, 1.0)  # be back within a second of the server (see ``stale_heartbeat_sql``)
