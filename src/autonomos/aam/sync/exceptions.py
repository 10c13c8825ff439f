"""Errors of the sync engine (below ``AutonomosError``)."""

from __future__ import annotations

from autonomos.errors import StageError


class SyncError(StageError):
    """The sync stage's error; carries tenant, connection, run and stream ids in ``context``."""


class RunNotClaimable(SyncError):
    """The run is final, already running elsewhere, or the tenant is at its concurrency limit."""

    transient = True


class ConnectorFailed(SyncError):
    """The connector raised while reading; what landed stays. Raised with ``from_cause``, so it is
    transient exactly when the connector's error was."""
