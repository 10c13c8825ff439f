"""Vector store errors.

    AutonomosError
    ├── EngineError
    │   └── VectorStoreError          a backend refused or failed a call (library errors chained)
    │       └── VectorStoreUnavailable  it could not be reached (transient)
    └── OutboxItemError               one outbox item cannot be embedded (kept with the message)
"""

from __future__ import annotations

from autonomos.errors import AutonomosError, EngineError


class VectorStoreError(EngineError):
    """Raised by a backend for any failure of its library or server, chained to the cause."""


class VectorStoreUnavailable(VectorStoreError):
    """Raised when the backend cannot be reached; the outbox retries later."""

    transient = True


class OutboxItemError(AutonomosError):
    """Raised for an outbox row that names an unknown kind or a malformed reference."""
