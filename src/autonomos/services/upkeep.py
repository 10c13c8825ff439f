"""Background upkeep that a long-running worker does between jobs.

Three things must follow Postgres without a person asking: the job queue (``reconcile`` and
``reconcile_applies``: sync and apply runs that Postgres says are pending, or running with a
dead heartbeat, are enqueued again) and the
vector store (the embedding outbox is drained, so approved and rejected examples, new
canonical fields and new source snapshots reach the matcher's memory), and the webhook delivery
outbox (due deliveries are sent, ``services.webhook_delivery``). All are idempotent and safe
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


@dataclass(frozen=True)
class UpkeepReport:
    """What one round did; None where that part failed (the log says why)."""

    reconciled: ReconcileReport | None
    vectors: DrainReport | None
    webhooks: DeliveryReport | None = None


def upkeep(rt: Runtime) -> UpkeepReport:
    """One round: reconcile the queue with Postgres (sync runs, apply runs), drain the
    embedding outbox, then send due webhook deliveries."""
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
        drained = drain_outbox(rt)
    except Exception:
        logger.warning("draining the embedding outbox failed; will retry", exc_info=True)
        drained = None
    try:
        delivered = deliver_due(rt)
    except Exception:
        logger.warning("sending webhook deliveries failed; will retry", exc_info=True)
        delivered = None
    return UpkeepReport(reconciled, drained, delivered)
