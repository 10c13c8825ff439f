"""Background upkeep that a long-running worker does between jobs.

Two things must follow Postgres without a person asking: the job queue (``reconcile`` and
``reconcile_applies``: sync and apply runs that Postgres says are pending, or running with a
dead heartbeat, are enqueued again) and the
vector store (the embedding outbox is drained, so approved and rejected examples, new
canonical fields and new source snapshots reach the matcher's memory). Both are idempotent and
safe from several processes at once (the outbox drainer locks rows with SKIP LOCKED), and a
failure of one never stops the other: it is logged and retried on the next round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from autonomos.aam.sync.reconciler import ReconcileReport, reconcile
from autonomos.dcl.vectors.outbox import DrainReport
from autonomos.services.apply import reconcile_applies
from autonomos.runtime import Runtime
from autonomos.services.vectors import drain_outbox

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpkeepReport:
    """What one round did; None where that part failed (the log says why)."""

    reconciled: ReconcileReport | None
    vectors: DrainReport | None


def upkeep(rt: Runtime) -> UpkeepReport:
    """One round: reconcile the queue with Postgres (sync runs, apply runs), then drain the
    embedding outbox."""
    try:
        reconciled = reconcile(rt)
    except Exception:
        logger.warning("reconcile failed; will retry", exc_info=True)
        reconciled = None
    try:
        reconcile_applies(rt)
    except Exception:
        logger.warning("reconciling apply runs failed; will retry", exc_info=True)
    try:
        drained = drain_outbox(rt)
    except Exception:
        logger.warning("draining the embedding outbox failed; will retry", exc_info=True)
        drained = None
    return UpkeepReport(reconciled, drained)
