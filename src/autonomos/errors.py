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
    └── InvalidInput                    a person's request is malformed or names nothing (CLI exit code 2)

Each area adds its own base below the root as it lands (sync, matching, apply, ...).
"""

from __future__ import annotations

from typing import Any


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


class InvalidInput(AutonomosError):
    """Raised when what a person asked for is malformed or names nothing that exists in the
    place it must (an unknown stream or entity, a filter without ``=``); the CLI exits 2."""
