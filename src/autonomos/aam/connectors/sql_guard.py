"""Where a SQL connection may connect, and as whom (the SQL side of the connector sandbox).

The host is resolved and checked once, and the driver is pointed at the checked address
(libpq ``hostaddr`` with the name kept for TLS; the IP for PyMySQL), so DNS cannot answer
differently at connect time. A Unix socket, or no host at all (the local default socket), is
refused unless the operator allowed that socket, and never reaches the platform's own server.
URL options that make the driver read files or services (``sslkey``, ``service``, ``passfile``,
...) are refused. A login that is a superuser is refused after connecting: a source is read
with a role that can read the source's tables and nothing more.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from autonomos.aam.connectors.sandbox import Sandbox, SourceRefused

SAFE_OPTIONS = frozenset({"sslmode", "connect_timeout", "application_name", "target_session_attrs", "charset"})
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
MYSQL_TOO_MUCH = re.compile(r"GRANT (ALL PRIVILEGES|.*\bSUPER\b).* ON \*\.\*", re.IGNORECASE)


def connect_target(url: sa.URL, sandbox: Sandbox | None) -> tuple[sa.URL, dict[str, Any]]:
    """The URL and driver arguments that connect to the sandbox-checked address."""
    postgres = url.get_backend_name() == "postgresql"
    query = {k: (v[0] if isinstance(v, tuple) else v) for k, v in url.query.items()}
    socket_option = "host" if postgres else "unix_socket"
    unsafe = sorted(set(query) - SAFE_OPTIONS - {socket_option})
    if unsafe:
        raise SourceRefused("these URL options are not allowed for a source", options=unsafe)
    socket_path = query.get(socket_option)
    if socket_path and not str(socket_path).startswith("/"):
        raise SourceRefused("put the host in the URL's host part, not in its query", host=socket_path)
    if socket_path or not url.host:
        if not socket_path:
            raise SourceRefused("a SQL source needs a host (no host means the local Unix socket)")
        if sandbox is not None:
            sandbox.check_socket(str(socket_path))
        return url, {}
    if "," in url.host:
        raise SourceRefused("a SQL source names one host", host=url.host)
    if sandbox is None:
        return url, {}
    address = sandbox.resolve(url.host, url.port or DEFAULT_PORTS[url.get_backend_name()])
    if postgres:
        return url, {"hostaddr": address}
    return url.set(host=address), {}


def refuse_superuser(conn: sa.Connection, provider: str) -> None:
    """Raise when the login may do more than read: a superuser, or (MySQL) SUPER / all privileges."""
    if conn.dialect.name == "postgresql":
        too_much = conn.execute(sa.text(
            "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_server_files', 'member') "
            "OR pg_has_role(current_user, 'pg_execute_server_program', 'member') "
            "FROM pg_roles WHERE rolname = current_user")).scalar()
    else:
        grants = [row[0] for row in conn.execute(sa.text("SHOW GRANTS FOR CURRENT_USER()"))]
        too_much = any(MYSQL_TOO_MUCH.search(g) for g in grants)
    if too_much:
        raise SourceRefused("this login is a superuser; give the connection a role that can only read the "
                            "source's tables", provider=provider)
