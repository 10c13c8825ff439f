"""What the sync stage needs from the layers above it, handed in by the worker's entry point.

The stage owns reading and landing; it does not know how a connection's connector is built
(credentials, tenant context) nor what happens to landed records next (DCL apply, drift).
``SyncStage`` carries both: a connector factory, and the post-landing hook that the stage
tells about every committed batch and every finished run. Both are required: a worker that
forgot to wire apply must fail to start, not land records that are never applied.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from autonomos.aam.connectors.base import Connector
from autonomos.aam.sync.landing import BatchResult


@dataclass(frozen=True)
class OpenedConnector:
    """A connection's connector, ready to read, with the names the stage reports."""

    connector: Connector
    provider: str
    name: str


class ConnectorFactory(Protocol):
    def __call__(self, tenant_id: uuid.UUID, connection_id: uuid.UUID) -> OpenedConnector: ...


@dataclass(frozen=True)
class LandedBatch:
    """One batch committed with its checkpoint (it will never land again)."""

    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    run_id: uuid.UUID
    stream: str
    result: BatchResult


@dataclass(frozen=True)
class FinishedRun:
    """A run that reached a status of its own (succeeded, failed, cancelled, paused)."""

    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    run_id: uuid.UUID
    streams: list[str]
    status: str
    counts: dict[str, Any]


class PostLanding(Protocol):
    """Told about landed batches (in commit order, from writer threads) and finished runs.

    ``run_succeeding`` is called inside the transaction that marks a run ``succeeded``: what it
    writes there (the pending work that must follow the sync, such as its apply) commits with the
    success or not at all, so a worker killed right after the commit leaves that work behind for
    any other worker, never a succeeded sync whose records nobody will apply."""

    def batch_landed(self, batch: LandedBatch) -> None: ...

    def run_succeeding(self, session: Any, run: FinishedRun) -> None: ...

    def run_finished(self, run: FinishedRun) -> None: ...


@dataclass(frozen=True)
class SyncStage:
    """Everything a sync run uses that the stage does not own."""

    open_connector: ConnectorFactory
    post_landing: PostLanding
