"""The one exception tree of the product.

    AutonomosError                      root; carries context (tenant, ids) and a transient flag
    ├── ConfigurationError              a setting is missing or malformed (terminal)
    ├── EngineError                     an engine (Postgres, Redis, DuckDB, vectors) is unusable
    │   └── EngineUnavailable           it could not be reached or started (transient)
    ├── StoreError                      a storage rule was broken or a row is missing
    │   ├── NotFound                    the row does not exist for this tenant
    │   ├── Conflict                    the row exists already / is immutable
    │   └── TenantContextMissing        a tenant-scoped call was made without a tenant
    ├── SecretsError                    credentials could not be encrypted or decrypted
    ├── StageError                      a stage (sync, apply, ...) failed on a run; transient as its cause
    └── InvalidInput                    a person's request is malformed or names nothing (CLI exit code 2)

Each area adds its own base below the root (``SyncError``, ``ApplyError``, ``MappingError``...).
Every exception class of the package derives from ``AutonomosError`` (a guardrail test checks it).
Library errors are translated once, at the engine boundary (``autonomos.engines.boundary``).
``error_record`` turns an error and its cause chain into data a run row can store.
"""

from __future__ import annotations

from typing import Any, Self

MAX_CAUSES = 8
"""How deep ``error_record`` follows a cause chain (a loop or a pathological chain stops there)."""
MAX_MESSAGE = 2000


class AutonomosError(Exception):
    """Root of every error the product raises on purpose.

    ``transient`` says whether retrying the same work later can succeed; ``context`` holds
    ids (tenant, connection, run) that make the message actionable in logs and problem+json.
    """

    transient: bool = False

    def __init__(self, message: str, **context: Any) -> None:
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}
        super().__init__(message)

    def __str__(self) -> str:
        if not self.context:
            return self.message
        details = ", ".join(f"{k}={v}" for k, v in sorted(self.context.items()))
        return f"{self.message} ({details})"


def is_transient(exc: BaseException) -> bool:
    """Whether retrying later can succeed: our errors say so; of the others only the connection
    and timeout errors of the standard library are (a library's errors are translated at the
    engine boundary before they get here)."""
    if isinstance(exc, AutonomosError):
        return exc.transient
    return isinstance(exc, (ConnectionError, TimeoutError))


def error_record(exc: BaseException) -> dict[str, Any]:
    """An error as data: kind, message, transient, context ids and the cause chain (outermost first).

    Stored with a failed run so a person (or the API) can tell a terminal error from one
    worth retrying, without parsing text. Only the message is kept, never a traceback or
    local variables.
    """
    record: dict[str, Any] = {}
    node, current, seen = record, exc, set()
    while True:
        seen.add(id(current))
        message = current.message if isinstance(current, AutonomosError) else str(current)
        node.update({"kind": type(current).__name__, "message": message[:MAX_MESSAGE],
                     "transient": is_transient(current)})
        if isinstance(current, AutonomosError) and current.context:
            node["context"] = {k: str(v) for k, v in current.context.items()}
        cause = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
        if cause is None or id(cause) in seen or len(seen) >= MAX_CAUSES:
            break
        node["cause"] = node = {}
        current = cause
    return record


class ConfigurationError(AutonomosError):
    """Raised when a setting is missing or malformed; the message names the variable."""


class EngineError(AutonomosError):
    """Raised when an engine answers but cannot be used (wrong version, missing extension)."""


class EngineUnavailable(EngineError):
    """Raised when an engine cannot be reached or started; usually worth retrying."""

    transient = True


class StoreError(AutonomosError):
    """Base of storage errors raised by repositories and services."""


class NotFound(StoreError):
    """Raised when a row does not exist for the calling tenant (or is invisible to it)."""


class Conflict(StoreError):
    """Raised when a row already exists or is immutable."""


class TenantContextMissing(StoreError):
    """Raised when tenant-scoped work is attempted without a tenant."""


class SecretsError(AutonomosError):
    """Raised when credentials cannot be encrypted or decrypted with the configured keys."""


class StageError(AutonomosError):
    """Base of each stage's error (``SyncError``, ``ApplyError``...): carries the run's ids, and is
    transient exactly when its cause is (see ``from_cause``)."""

    @classmethod
    def from_cause(cls, message: str, cause: BaseException, **context: Any) -> Self:
        """The stage error for ``cause``, which the caller chains with ``raise ... from cause``."""
        error = cls(message, **context)
        error.transient = is_transient(cause)
        return error


class InvalidInput(AutonomosError):
    """Raised when what a person asked for is malformed or names nothing that exists in the
    place it must (an unknown stream or entity, a filter without ``=``); the CLI exits 2."""
