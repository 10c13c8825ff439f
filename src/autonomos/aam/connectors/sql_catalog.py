"""What a SQL table looks like to a connector: field types, keys, the cursor, value conversion.

Cursor rule: a configured ``cursor_field`` wins; otherwise the first column whose type is a
timestamp and whose name, lower-cased with everything but letters and digits removed, is one of
``CURSOR_NAMES`` (``updated_at``, ``modified_at``, ``last_modified``, ``SystemModstamp``, ...).
A table with neither has no cursor and is read in full each sync.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from autonomos.aam.connectors.typing import FieldType
from autonomos.aam.connectors.values import Converter, to_jsonable

CURSOR_NAMES = {
    "updatedat", "modifiedat", "lastmodified", "lastmodifiedat", "lastmodifieddate", "systemmodstamp",
    "updatedon", "modifiedon", "lastupdated", "lastupdatedat", "updatetime", "modifytime",
}
TRUE_TEXT = {"1", "t", "true", "y", "yes"}


def field_type(column_type: sa.types.TypeEngine) -> FieldType:
    """A reflected column type as one of the FieldType words."""
    if isinstance(column_type, sa.Boolean) or getattr(column_type, "display_width", None) == 1:
        return "boolean"  # MySQL's BOOLEAN is TINYINT(1)
    if isinstance(column_type, sa.Integer):
        return "integer"
    if isinstance(column_type, (sa.Numeric, sa.Float)):
        return "number"
    if isinstance(column_type, sa.DateTime):
        return "datetime"
    if isinstance(column_type, sa.Date):
        return "date"
    if isinstance(column_type, sa.JSON):
        return "object"
    if isinstance(column_type, sa.ARRAY):
        return "array"
    if isinstance(column_type, (sa.String, sa.Time, sa.LargeBinary, sa.Uuid, sa.Interval, sa.Enum)):
        return "string"
    name = type(column_type).__name__.upper()
    if "BINARY" in name or "BLOB" in name or "BIT" in name or name in ("INET", "CIDR", "MACADDR", "YEAR"):
        return "string"
    return "unknown"


def guess_cursor(columns: list[dict[str, Any]]) -> str | None:
    for column in columns:
        if field_type(column["type"]) == "datetime" and re.sub(r"[^a-z0-9]", "", column["name"].lower()) in CURSOR_NAMES:
            return column["name"]
    return None


def converter(column_type: sa.types.TypeEngine) -> Converter | None:
    """None where drivers already return JSON-serialisable values (text, integers, booleans)."""
    if isinstance(column_type, (sa.String, sa.Integer, sa.Boolean)) and not isinstance(column_type, sa.Enum):
        return None
    return to_jsonable


def from_state(value: Any, column_type: sa.types.TypeEngine) -> Any:
    """A cursor or key value read back from a JSON state, as the Python type the column binds."""
    if value is None or not isinstance(value, str):
        return value
    kind = field_type(column_type)
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "number":
        return Decimal(value)
    if kind == "integer":
        return int(value)
    return value


def truthy(value: Any) -> bool:
    """A soft-delete flag as a bool (booleans, 0/1, and 't'/'true'/'y'/'yes'/'1' text)."""
    if isinstance(value, str):
        return value.strip().lower() in TRUE_TEXT
    if isinstance(value, (bytes, bytearray)):  # MySQL BIT(1)
        return any(value)
    return bool(value)


def after(columns: list[sa.ColumnElement[Any]], values: list[Any]) -> sa.ColumnElement[bool]:
    """Keyset condition ``(c1, c2, ...) > (v1, v2, ...)`` spelled out, which both PostgreSQL and
    MariaDB plan as index ranges."""
    head, value = columns[0], values[0]
    if len(columns) == 1:
        return head > value
    return sa.or_(head > value, sa.and_(head == value, after(columns[1:], values[1:])))
