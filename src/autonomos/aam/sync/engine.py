"""Executing one sync run: claim it, read each stream from its cursor, land micro-batches.

The worker only ever passes ids; everything else (connection, credentials, cursors, the
run's control requests) is read from Postgres, so any worker can pick up any run after a
crash or a Redis flush and carry on from the last committed checkpoint.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, text

from autonomos.aam.connectors.base import BadRecord, RecordBatch, RecordMessage, StateMessage, StreamSpec, rows_in
from autonomos.aam.connectors.context import ReadStopped
from autonomos.aam.sync import jobs, runs
from autonomos.aam.sync.hooks import FinishedRun, LandedBatch, SyncStage
from autonomos.aam.sync.inputs import SyncEngines
from autonomos.aam.sync.landing import BatchResult, Lander, PreparedBatch
from autonomos.aam.sync.exceptions import ConnectorFailed
from autonomos.errors import AutonomosError
from autonomos.logs import bind_ids
from autonomos.ordered_writers import OrderedWriters, WaitTurn
from autonomos.aam.sync.watch import RunWatch
from autonomos.notifications import notify, publish
from autonomos.read_ahead import read_ahead
from autonomos.store.tables import StreamState

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 5.0
READ_AHEAD_BATCHES = 2
"""Prepared batches the reader thread may hold while the writer is busy (bounds memory)."""


class _Stop(AutonomosError):
    """Raised inside the loop when a person asked to cancel or pause the run (or it was lost)."""

    def __init__(self, control: str) -> None:
        super().__init__(f"run stopped: {control}")
        self.control = control


class RunExecutor:
    """Runs one claimed sync run to its end (or to a cancel/pause request)."""

    def __init__(self, engines: SyncEngines, run: runs.RunInfo, worker_id: str, stage: SyncStage) -> None:
        self.engines = engines
        self.settings = engines.settings
        self.run = run
        self.worker_id = worker_id
        self.stage = stage
        self.batches = 0
        self.batch_size = engines.settings.batch_size
        self.total = BatchResult()
        self.attempt_read = 0
        self.per_stream: dict[str, dict[str, int]] = {}
        self.watch = RunWatch(engines.db.tenant, run.tenant_id, run.id, worker_id,
                              budget_s=engines.settings.max_run_s)

    def execute(self) -> str:
        run = self.run
        stop = threading.Event()
        beat = threading.Thread(target=contextvars.copy_context().run, args=(self._heartbeat, stop), daemon=True)
        beat.start()
        connector = None
        try:
            opened = self.stage.open_connector(run.tenant_id, run.connection_id)
            connector = opened.connector
            if connector.context is not None:  # connectors that can stop inside a stream poll the watch
                connector.context.control.install(self.watch, max_columns=self.settings.max_columns)
            self._publish("sync.started", {"connection": opened.name, "attempt": run.attempts})
            streams = [s for s in connector.discover() if not run.streams or s.name in run.streams]
            for stream in streams:
                self._sync_stream(connector, stream, opened.provider)
        except _Stop as request:
            if request.control == "lost":
                logger.warning("run was taken over by another worker; stopping", extra={"run_id": str(run.id)})
                return "lost"
            if request.control == "timeout":
                error = f"the run exceeded its time budget of {self.watch.budget_s:g} s (AOS_SYNC_MAX_RUN_S)"
                self._finish("failed", error=error, event="sync.failed", payload={**self._counts(), "error": error})
                return "failed"
            status = "cancelled" if request.control == "cancel" else "paused"
            self._finish(status, event=f"sync.{status}", payload=self._counts())
            return self._announce(status)
        except Exception as exc:
            stop.set()
            return self._failed(exc)
        finally:
            stop.set()
            if connector is not None:
                connector.close()
        self._finish("succeeded", event="sync.completed", payload=self._counts())
        return self._announce("succeeded")

    def _announce(self, status: str) -> str:
        """Tell the post-landing hook the run is over; its failure never changes the run's status."""
        run = self.run
        try:
            self.stage.post_landing.run_finished(self._finished_run(status))
        except Exception:
            logger.exception("post-landing hook failed", extra={"run_id": str(run.id)})
        return status

    def _finished_run(self, status: str) -> FinishedRun:
        run = self.run
        return FinishedRun(run.tenant_id, run.connection_id, run.id, list(run.streams), status, self._counts())

    def _sync_stream(self, connector, stream: StreamSpec, provider: str) -> None:
        """Read and prepare batches in a reader thread while writers land the earlier ones.

        Batches commit strictly in read order (``OrderedWriters``), each with the last checkpoint
        that all of its records precede, so the cursor in Postgres never runs ahead of the landed
        records, however many writers work at once. Each batch's raw record ids are reserved here,
        in read order too, so a stream's ids grow with commit order (the incremental apply reads
        by id and relies on it).
        """
        with bind_ids(stream=stream.name):
            self._sync_stream_bound(connector, stream, provider)

    def _sync_stream_bound(self, connector, stream: StreamSpec, provider: str) -> None:
        tenant, run = self.run.tenant_id, self.run
        full = run.mode == "full"
        lander = Lander(tenant, run.connection_id, stream, run.id, remember_keys=full)
        state = None if full and not self._resuming_full(stream) else self._load_state(stream.name)
        with self.engines.db.tenant(tenant) as session:
            lander.check_first_load(session)
        writers = OrderedWriters(self.settings.writers, name=f"land-{stream.name}")
        stop = threading.Event()
        prepared_batches = self._prepared_batches(connector, stream, state, lander, stop)
        try:
            with read_ahead(prepared_batches, depth=READ_AHEAD_BATCHES, name=f"read-{stream.name}",
                            stop=stop) as batches:
                while True:
                    try:
                        prepared, checkpoint, last = next(batches)
                    except StopIteration:
                        break
                    except ReadStopped as stopped:
                        raise _Stop(stopped.control) from None
                    except Exception as exc:
                        writers.drain()  # what was read before the failure still lands, with its checkpoint
                        raise ConnectorFailed.from_cause(
                            f"{provider} connector failed on stream {stream.name}: {exc}",
                            exc, tenant=tenant, connection=run.connection_id, run=run.id, stream=stream.name,
                        ) from exc
                    with self.engines.db.tenant(tenant) as session:  # ids in read order = commit order
                        prepared = lander.reserve_ids(session, prepared)
                    self.batches += 1
                    writers.submit(prepared.keys, functools.partial(self._land, lander, prepared, checkpoint,
                                                                    finish_full=full and last, batch=self.batches))
                writers.drain()
        except BaseException as exc:
            writers.abort(exc)
            raise
        finally:
            writers.close()

    def _prepared_batches(self, connector, stream: StreamSpec, state, lander: Lander, stop: threading.Event
                          ) -> Iterator[tuple[PreparedBatch, dict[str, Any] | None, bool]]:
        """Messages -> prepared batches, each with its checkpoint and whether it is the last one
        (ends early once ``stop`` is set: the run was stopped or failed)."""
        records: list[RecordMessage | RecordBatch] = []
        bad: list[BadRecord] = []
        rows = 0
        pending_state: dict[str, Any] | None = None
        for message in connector.read(stream, state, self.run.mode):
            if stop.is_set():
                return
            if control := self.watch():
                raise ReadStopped(control)
            if isinstance(message, (RecordMessage, RecordBatch)):
                records.append(message)
                rows += rows_in(message)
            elif isinstance(message, BadRecord):
                bad.append(message)
                rows += 1
            elif isinstance(message, StateMessage):
                pending_state = message.state
                if rows >= self.batch_size:
                    yield lander.prepare(records, bad), pending_state, False
                    records, bad, rows, pending_state = [], [], 0, None
            if rows >= 4 * self.batch_size:
                # No checkpoint for a long time: land anyway, the cursor stays where it was.
                yield lander.prepare(records, bad), None, False
                records, bad, rows = [], [], 0
        yield lander.prepare(records, bad), pending_state, True

    def _resuming_full(self, stream: StreamSpec) -> bool:
        # A full refresh resumed after a crash continues from its own checkpoints; a fresh one
        # starts from nothing. The run's counts say whether this stream had started.
        return self.run.attempts > 1 and stream.name in self.run.counts.get("streams", {})

    def _land(self, lander: Lander, prepared: PreparedBatch, state, wait_turn: WaitTurn, *,
              finish_full: bool = False, batch: int = 0) -> None:
        with bind_ids(batch=batch):
            self._land_bound(lander, prepared, state, wait_turn, finish_full=finish_full)

    def _land_bound(self, lander: Lander, prepared: PreparedBatch, state, wait_turn: WaitTurn, *,
                    finish_full: bool) -> None:
        """One batch in its own transaction: write, wait for the earlier batches, then fence,
        cursor and counts, and commit.

        The commit does not wait for the WAL flush (``synchronous_commit = off``): if the server
        crashed right after it, the batch and its cursor would be lost together and re-read from
        the previous checkpoint, landing as no-ops where they had landed. The run's final status
        commits synchronously, which flushes every batch before it.
        """
        with self.engines.db.tenant(self.run.tenant_id) as session:
            session.execute(text("SET LOCAL synchronous_commit = off"))
            result = lander.write(session, prepared)
            wait_turn()
            owned, _ = runs.fence(session, self.run.tenant_id, self.run.id, self.worker_id)
            if not owned:
                raise _Stop("lost")
            if state is not None:
                lander.save_state(session, state)
            if finish_full:
                result.deleted += lander.record_missing_as_deleted(session)
            self.total.add(result)
            self.attempt_read += result.read
            stream = self.per_stream.setdefault(lander.stream.name, {"read": 0, "inserted": 0, "quarantined": 0})
            stream["read"] += result.read
            stream["inserted"] += result.inserted
            stream["quarantined"] += result.quarantined
            control = runs.save_counts(session, self.run.tenant_id, self.run.id, self._counts())
        self.stage.post_landing.batch_landed(LandedBatch(self.run.tenant_id, self.run.connection_id, self.run.id,
                                                         lander.stream.name, result))
        if control in ("cancel", "pause"):
            raise _Stop(control)

    def _load_state(self, stream: str) -> dict[str, Any] | None:
        with self.engines.db.tenant(self.run.tenant_id) as session:
            return session.scalar(select(StreamState.cursor).where(
                StreamState.tenant_id == self.run.tenant_id,
                StreamState.connection_id == self.run.connection_id,
                StreamState.stream == stream,
            ))

    def _counts(self) -> dict[str, Any]:
        previous = self.run.counts
        attempts = dict(previous.get("attempts", {}))
        attempts[str(self.run.attempts)] = {"read": self.attempt_read}
        streams = dict(previous.get("streams", {}))
        streams.update(self.per_stream)
        t = self.total
        return {
            "read": previous.get("read", 0) + t.read,
            "inserted": previous.get("inserted", 0) + t.inserted,
            "unchanged": previous.get("unchanged", 0) + t.unchanged,
            "deleted": previous.get("deleted", 0) + t.deleted,
            "quarantined": previous.get("quarantined", 0) + t.quarantined,
            "quarantine_reasons": _merge(previous.get("quarantine_reasons", {}), t.reasons),
            "attempts": attempts,
            "streams": streams,
        }

    def _failed(self, exc: Exception) -> str:
        """Record the failed attempt: retry later (``pending``), ``failed`` or ``abandoned``."""
        outcome = runs.record_failure(self.engines.db, self.run, self.worker_id, exc, counts=self._counts(),
                                      base_s=self.settings.retry_backoff_s)
        self._hand_off()
        retrying = outcome is not None and outcome.status == "pending"
        logger.log(logging.WARNING if retrying else logging.ERROR, "sync run failed", exc_info=exc,
                   extra={"run_id": str(self.run.id), "outcome": outcome.status if outcome else "lost"})
        if outcome is None:
            return "lost"
        event = {"pending": "sync.retrying", "failed": "sync.failed", "abandoned": "sync.abandoned"}[outcome.status]
        self._publish(event, {**self._counts(), "error": outcome.error, "failures": outcome.failures,
                              "next_attempt_at": outcome.next_attempt_at})
        if outcome.status == "pending":
            return outcome.status
        return self._announce(outcome.status)

    def _finish(self, status: str, error: dict[str, Any] | None = None, *, event: str,
                payload: dict[str, Any]) -> None:
        """The run's end and its notification commit together."""
        with self.engines.db.tenant(self.run.tenant_id) as session:
            runs.finish(session, self.run.tenant_id, self.run.id, status, counts=self._counts(), error=error)
            if status == "succeeded":
                self.stage.post_landing.run_succeeding(session, self._finished_run(status))
            notify(self.engines, session, self.run.tenant_id, event, self._announced(payload))
            if self.total.quarantined:
                notify(self.engines, session, self.run.tenant_id, "quarantine.added", self._announced(
                    {"quarantined": self.total.quarantined, "reasons": dict(self.total.reasons)}))
        self._hand_off()

    def _hand_off(self) -> None:
        """This run no longer counts against its tenant's limit: the tenant's next due run goes to
        the head of the queue now, before the apply of this one, rather than waiting for upkeep."""
        try:
            with self.engines.db.tenant(self.run.tenant_id) as session:
                waiting = runs.next_due(session, self.run.tenant_id)
            if waiting is not None:
                jobs.enqueue_run(self.engines.queue, self.run.tenant_id, waiting, at_front=True)
        except Exception:  # the reconciler enqueues it on its next round
            logger.warning("handing the next run on failed", exc_info=True)

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.wait(min(HEARTBEAT_INTERVAL_S, self.settings.heartbeat_timeout_s / 3)):
            try:
                with self.engines.db.tenant(self.run.tenant_id) as session:
                    runs.heartbeat(session, self.run.tenant_id, self.run.id, self.worker_id)
            except Exception:  # a missed heartbeat is harmless; the next one retries
                logger.warning("heartbeat failed", exc_info=True)

    def _announced(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"run_id": str(self.run.id), "connection_id": str(self.run.connection_id), **payload}

    def _publish(self, event: str, payload: dict[str, Any]) -> None:
        publish(self.engines, self.run.tenant_id, event, self._announced(payload))


def _merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def execute_run(engines: SyncEngines, stage: SyncStage, tenant_id: uuid.UUID, run_id: uuid.UUID,
                worker_id: str) -> str | None:
    """Claim and execute one run; returns its final status, or None if it was not claimable."""
    with engines.db.tenant(tenant_id) as session:
        run = runs.claim(session, tenant_id, run_id, worker_id, engines.settings.heartbeat_timeout_s)
    if run is None:
        return None
    with bind_ids(tenant_id=run.tenant_id, connection_id=run.connection_id, run_id=run.id):
        return RunExecutor(engines, run, worker_id, stage).execute()
