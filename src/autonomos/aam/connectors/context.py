"""What a connector may use of the platform besides its config and credentials.

Connectors that talk to remote APIs need a little shared state: an access-token cache and a
rate-limit bucket that every worker sees (Redis, under the tenant's namespace, so a tenant purge
removes them and a flush only resets them), a way to persist a refresh token the vendor rotated
(encrypted, in Postgres) and a directory for per-connector tooling (Airbyte virtual
environments). ``services.connections.connector_context`` builds it; connectors that declare
``uses_context`` receive it, the others are built exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import redis

from autonomos.errors import AutonomosError


DEFAULT_MAX_COLUMNS = 10_000


class ReadStopped(AutonomosError):
    """Raised inside ``read`` when the run asked the connector to stop (``control`` says why:
    ``cancel``, ``pause``, ``lost`` or ``timeout``)."""

    def __init__(self, control: str) -> None:
        super().__init__(f"read stopped: {control}")
        self.control = control


class RunControl:
    """What the sync engine tells a connector while it reads: whether to stop, and its limits.

    The engine installs ``should_stop`` (None, or why to stop) when it starts a run; a
    connector calls ``check()`` between bounded chunks of work, even inside one file, so a
    cancel or an exhausted time budget takes effect without waiting for a batch to land.
    """

    def __init__(self) -> None:
        self.should_stop: Callable[[], str | None] = lambda: None
        self.max_columns = DEFAULT_MAX_COLUMNS

    def install(self, should_stop: Callable[[], str | None], *, max_columns: int) -> None:
        self.should_stop = should_stop
        self.max_columns = max_columns

    def check(self) -> None:
        control = self.should_stop()
        if control:
            raise ReadStopped(control)


class SecretBox(Protocol):
    """Encrypts what goes into Redis (the credential cipher)."""

    def encrypt(self, value: dict[str, Any]) -> bytes: ...

    def decrypt(self, token: bytes) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ConnectorContext:
    tenant_id: str
    connection_id: str
    redis: redis.Redis
    prefix: str
    """Key prefix of this connection in Redis (``<namespace>:t:<tenant>:conn:<id>:``)."""
    save_credentials: Callable[[dict[str, Any]], None]
    """Replace the connection's stored (encrypted) credentials, e.g. with a rotated refresh token."""
    box: SecretBox
    data_dir: Path
    control: RunControl = field(default_factory=RunControl)
    """Set by the sync engine for the run (see ``RunControl``)."""

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    def cache_get(self, name: str) -> dict[str, Any] | None:
        """A cached secret (e.g. an access token), decrypted; None when absent or unreadable."""
        token = self.redis.get(self.key("cache", name))
        if token is None:
            return None
        try:
            return self.box.decrypt(token)
        except Exception:  # a rotated key or garbage: a cache miss, the caller fetches anew
            return None

    def cache_set(self, name: str, value: dict[str, Any], ttl_s: float) -> None:
        self.redis.set(self.key("cache", name), self.box.encrypt(value), px=max(1, int(ttl_s * 1000)))

    def cache_delete(self, name: str) -> None:
        self.redis.delete(self.key("cache", name))

