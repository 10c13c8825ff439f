"""``aos worker``'s entry point: the sync stage wired to the rest of the platform.

The sync stage (``autonomos.aam.sync``) knows nothing above it. Here it gets its connector
factory (connections with their decrypted credentials) and its post-landing hook: when a run
succeeds, the current mapping versions of its connection are applied to what landed (DCL).
The upkeep thread reconciles the queue and drains the embedding outbox.
"""

from __future__ import annotations

import uuid

from autonomos.aam.sync import worker as sync_worker
from autonomos.aam.sync.hooks import FinishedRun, LandedBatch, OpenedConnector, SyncStage
from autonomos.runtime import Runtime
from autonomos.services import connections
from autonomos.services.apply import apply_connection
from autonomos.services.upkeep import upkeep


class ApplyAfterSync:
    """The post-landing hook: a succeeded run's connection is applied (DCL) once, at its end."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def batch_landed(self, batch: LandedBatch) -> None:
        """Batches are applied together when the run ends (one incremental apply per mapping)."""

    def run_finished(self, run: FinishedRun) -> None:
        if run.status == "succeeded":
            apply_connection(self.rt, run.tenant_id, run.connection_id, run.streams)


def sync_stage(rt: Runtime) -> SyncStage:
    """The sync stage as the platform runs it: its connectors, and DCL apply after landing."""

    def open_connector(tenant_id: uuid.UUID, connection_id: uuid.UUID) -> OpenedConnector:
        info = connections.get_connection(rt, tenant_id, str(connection_id))
        credentials = connections.connection_credentials(rt, tenant_id, str(connection_id))
        return OpenedConnector(connections.build_connector(rt, tenant_id, info, credentials), info.provider, info.name)

    return SyncStage(open_connector=open_connector, post_landing=ApplyAfterSync(rt))


def run_worker(rt: Runtime, *, burst: bool = False) -> None:
    """Work the sync queue with the platform's stage and upkeep (``burst``: until it is empty)."""
    sync_worker.run_worker(rt, stage=sync_stage(rt), upkeep=lambda: upkeep(rt), burst=burst)
