"""Errors of the sync engine (below ``AutonomosError``)."""

from __future__ import annotations

from autonomos.errors import AutonomosError


class SyncError(AutonomosError):
    """Base of sync errors; carries tenant, connection and run ids in ``context``."""


class RunNotClaimable(SyncError):
    """The run is final, already running elsewhere, or the tenant is at its concurrency limit."""

    transient = True


class ConnectorFailed(SyncError):
    """The connector raised while reading; the run fails with the message, keeping what landed."""
