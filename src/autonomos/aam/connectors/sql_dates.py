"""PostgreSQL dates Python cannot hold (``infinity``, BC years, year 10000 and later) read as text.

psycopg raises ``DataError`` on such a value, which would fail the whole page and stop the sync
for one row. Loaded through these loaders they arrive as PostgreSQL prints them
(``'infinity'``, ``'0044-03-15 BC'``), land like any text, and a mapping that turns them into a
canonical date quarantines that one record with its reason.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader


def _lenient(base: type) -> type:
    class Lenient(base):  # type: ignore[misc, valid-type]
        def load(self, data: Any) -> Any:
            try:
                return super().load(data)
            except psycopg.DataError:
                return bytes(data).decode("utf-8", "replace")

    Lenient.__name__ = f"Lenient{base.__name__}"
    return Lenient


LOADERS = {"date": _lenient(DateLoader), "timestamp": _lenient(TimestampLoader),
           "timestamptz": _lenient(TimestamptzLoader)}


def register_lenient_dates(dbapi_connection: Any, _record: Any = None) -> None:
    """SQLAlchemy ``connect`` listener: install the loaders on a new psycopg connection."""
    for name, loader in LOADERS.items():
        dbapi_connection.adapters.register_loader(name, loader)
