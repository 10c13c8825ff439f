"""The engine boundary: library errors that mean "the server is out of reach" become ours.

Callers above the engines see one transient error, ``EngineUnavailable``, whether Postgres
restarted, a pooled connection was killed, or Redis stopped answering; they never need to
know SQLAlchemy's, psycopg's or redis-py's exception classes to decide whether to retry.
Other library errors (a constraint violation, a bad query) pass through unchanged: they are
not about reachability. ``Database`` sessions and the Redis client translate here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import redis
import sqlalchemy.exc

from autonomos.errors import EngineUnavailable

_UNREACHABLE: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,   # connection refused/lost, server shutting down, admin kill
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,       # the pool had no connection in time
    psycopg.OperationalError,
    redis.ConnectionError,
    redis.TimeoutError,
)
"""Only the engines' own classes: a builtin ConnectionError raised inside a session (a connector's
socket) is not about Postgres."""


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the engine could not be reached (or dropped the connection)."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _UNREACHABLE)


@contextmanager
def engine_boundary(engine: str) -> Iterator[None]:
    """Run a block against ``engine`` ("postgres", "redis"); reachability errors leave it as
    ``EngineUnavailable`` (transient), chained to the library's error."""
    try:
        yield
    except EngineUnavailable:
        raise
    except Exception as exc:
        if not unreachable(exc):
            raise
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise EngineUnavailable(f"{engine} is unavailable: {type(exc).__name__}"
                                + (f": {reason[0][:200]}" if reason else ""), engine=engine) from exc
