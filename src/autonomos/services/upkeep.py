"""Background upkeep that a long-running worker does between jobs.

Three things must follow Postgres without a person asking, in this order: the job queue
(``reconcile`` and ``reconcile_applies``: sync and apply runs that Postgres says are pending, or
running with a dead heartbeat, are enqueued again), the webhook delivery outbox (due deliveries
are sent, ``services.webhook_delivery``) and the vector store (the embedding outbox is drained,
a time-boxed slice per round, so approved and rejected examples, new canonical fields and new
source snapshots reach the matcher's memory; the slowest of the three goes last). All are idempotent and safe
from several processes at once (the outbox workers lock rows with SKIP LOCKED), and a failure
of one never stops the others: it is logged and retried on the next round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from autonomos.aam.sync.reconciler import ReconcileReport
from autonomos.dcl.vectors.outbox import DrainReport
from autonomos.services.apply import reconcile_applies
from autonomos.runtime import Runtime
from autonomos.services.sync_inputs import reconcile_syncs
from autonomos.services.vectors import drain_outbox
from autonomos.services.webhook_delivery import DeliveryReport, deliver_due

logger = logging.getLogger(__name__)

DRAIN_BATCH = 64
DRAIN_BUDGET_S = 5.0
"""An embedding backlog (a rebuild, a large apply) is drained in slices of about this long, so it
never holds up the next round's reconcile or a webhook for minutes."""


@dataclass(frozen=True)
class UpkeepReport:
    """What one round did; None where that part failed (the log says why)."""

    reconciled: ReconcileReport | None
    vectors: DrainReport | None
    webhooks: DeliveryReport | None = None

    @property
    def more(self) -> bool:
        """The outbox drain stopped at its budget: rows may be waiting."""
        return bool(self.vectors and self.vectors.more)


def upkeep(rt: Runtime) -> UpkeepReport:
    """One round: reconcile the queue with Postgres (sync runs, apply runs), send due webhook
    deliveries, then drain the embedding outbox for at most ``DRAIN_BUDGET_S`` (``more`` says
    the round left a backlog: the worker starts the next round at once)."""
    try:
        reconciled = reconcile_syncs(rt)
    except Exception:
        logger.warning("reconcile failed; will retry", exc_info=True)
        reconciled = None
    try:
        reconcile_applies(rt)
    except Exception:
        logger.warning("reconciling apply runs failed; will retry", exc_info=True)
    try:
        delivered = deliver_due(rt)
    except Exception:
        logger.warning("sending webhook deliveries failed; will retry", exc_info=True)
        delivered = None
    try:
        drained = drain_outbox(rt, batch_size=DRAIN_BATCH, budget_s=DRAIN_BUDGET_S)
    except Exception:
        logger.warning("draining the embedding outbox failed; will retry", exc_info=True)
        drained = None
    return UpkeepReport(reconciled, drained, delivered)
