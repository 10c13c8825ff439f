"""``aos worker``'s entry point: the sync stage wired to the rest of the platform.

The sync stage (``autonomos.aam.sync``) knows nothing above it. Here it gets its connector
factory (connections with their decrypted credentials) and its post-landing hook: when a run
succeeds, its streams are checked for schema drift first, then the current mapping versions
of its connection are applied to what landed (DCL) by jobs of their own, except to streams
drift holds.
The upkeep thread reconciles the queue and drains the embedding outbox. Each job first offers
the least-served tenants' due runs (tenant-share scheduling, ``aam.sync.share``).
"""

from __future__ import annotations

import logging
import uuid

from autonomos.aam.connectors.base import Connector, StreamSpec
from autonomos.aam.sync import worker as sync_worker
from autonomos.aam.sync.hooks import FinishedRun, LandedBatch, OpenedConnector, SyncStage
from autonomos.runtime import Runtime
from autonomos.services import connections, drift
from autonomos.services.apply import create_post_sync_applies, held_back, queue_post_sync_applies
from autonomos.services.sync_inputs import least_served_runs, reconcile_syncs, set_worker_runtime, sync_engines
from autonomos.services.upkeep import upkeep

logger = logging.getLogger(__name__)


class ApplyAfterSync:
    """The post-landing hook: a succeeded run's streams are checked for drift, then its
    connection's apply runs (DCL) go on the queue as jobs, leaving out the streams drift holds."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._hold_s = 3.0 * rt.settings.sync_heartbeat_timeout_s
        self._applies: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = {}
        self._discovered: dict[tuple[uuid.UUID, uuid.UUID], list[StreamSpec]] = {}

    def remember_discovery(self, tenant_id: uuid.UUID, connection_id: uuid.UUID, connector: Connector) -> None:
        """Keep what the run's own discovery returned, so the drift check does not discover again."""
        discover = connector.discover

        def remembered() -> list[StreamSpec]:
            specs = discover()
            self._discovered[(tenant_id, connection_id)] = specs
            return specs

        try:
            connector.discover = remembered  # type: ignore[method-assign]
        except (AttributeError, TypeError):  # a connector that cannot be wrapped: drift discovers again
            pass

    def batch_landed(self, batch: LandedBatch) -> None:
        """Batches are applied together when the run ends (one incremental apply per mapping)."""

    def run_succeeding(self, session, run: FinishedRun) -> None:
        """The sync's apply runs commit with its success, held back while this worker checks drift."""
        self._applies[run.run_id] = create_post_sync_applies(session, run.tenant_id, run.connection_id, run.streams,
                                                             not_before_s=self._hold_s)

    def run_finished(self, run: FinishedRun) -> None:
        specs = self._discovered.pop((run.tenant_id, run.connection_id), None)
        created = self._applies.pop(run.run_id, {})
        if run.status != "succeeded":
            return
        with held_back(self.rt, run.tenant_id, [i for ids in created.values() for i in ids], self._hold_s):
            try:
                drift.check_run(self.rt, run.tenant_id, run.connection_id, run.run_id, run.streams, specs)
            except Exception:  # the records are landed; a failed check must not keep them from applying
                logger.exception("drift check failed", extra={"run_id": str(run.run_id)})
            try:
                streams = drift.streams_to_apply(self.rt, run.tenant_id, run.connection_id, run.streams)
            except Exception:  # the runs fall due and another worker (or this one) applies them
                logger.exception("reading the held streams failed", extra={"run_id": str(run.run_id)})
                return
        queue_post_sync_applies(self.rt, run.tenant_id, created, streams)


def sync_stage(rt: Runtime) -> SyncStage:
    """The sync stage as the platform runs it: its connectors, and drift then DCL apply after landing."""

    hook = ApplyAfterSync(rt)

    def open_connector(tenant_id: uuid.UUID, connection_id: uuid.UUID) -> OpenedConnector:
        info = connections.get_connection(rt, tenant_id, str(connection_id))
        credentials = connections.connection_credentials(rt, tenant_id, str(connection_id))
        connector = connections.build_connector(rt, tenant_id, info, credentials)
        hook.remember_discovery(tenant_id, connection_id, connector)
        return OpenedConnector(connector, info.provider, info.name)

    return SyncStage(open_connector=open_connector, post_landing=hook)


def run_worker(rt: Runtime, *, burst: bool = False) -> None:
    """Work the sync queue with the platform's stage and upkeep (``burst``: until it is empty)."""
    set_worker_runtime(rt)
    try:
        sync_worker.run_worker(sync_engines(rt), stage=sync_stage(rt), reconcile=lambda: reconcile_syncs(rt),
                               upkeep=lambda: upkeep(rt), choose=lambda: least_served_runs(rt), burst=burst)
    finally:
        set_worker_runtime(None)
