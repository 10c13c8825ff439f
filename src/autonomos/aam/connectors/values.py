"""Turning source values into JSON-serialisable Python, the same way for every connector.

Records are stored as JSON, so every value must survive ``json.dumps`` unchanged in meaning:

* ``Decimal`` -> ``str`` (exact: ``"12.50"`` keeps its scale; a float would round money);
* ``datetime`` / ``date`` / ``time`` -> ISO 8601 strings (``isoformat()``; aware datetimes
  keep their offset);
* ``timedelta`` -> seconds as a float;
* ``bytes`` -> base64 text (standard alphabet, padded);
* ``UUID`` -> its canonical string;
* non-finite floats (NaN, infinity) -> their ``str`` (JSON has no such numbers);
* dicts, lists and tuples are converted recursively; anything else becomes ``str``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

Converter = Callable[[Any], Any]


def to_jsonable(value: Any) -> Any:
    """One value as JSON-serialisable Python (rules in the module docstring)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return str(value)


def row_builder(columns: list[str], converters: dict[int, Converter]) -> Callable[[tuple], dict[str, Any]]:
    """A fast ``tuple -> dict`` for one result shape: converters run only on the columns that need one.

    ``columns`` may be shorter than the rows (trailing helper columns are dropped by ``zip``).
    """
    if not converters:
        return lambda row: dict(zip(columns, row))
    items = list(converters.items())

    def build(row: tuple) -> dict[str, Any]:
        data = dict(zip(columns, row))
        for index, convert in items:
            value = row[index]
            if value is not None:
                data[columns[index]] = convert(value)
        return data

    return build
