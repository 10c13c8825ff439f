"""Build a valid row for any table from its metadata alone, so new tables are covered
by the isolation tests without editing them. Foreign keys point at the row made for the
same tenant in the referenced table (tables are filled in dependency order)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.types import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

# Domain constraints the metadata cannot express (a CHECK made by a migration).
OVERRIDES: dict[str, dict[str, Any]] = {"vector_items": {"embedding": [0.1, 0.2, 0.3], "dimensions": 3}}


def value_for(column, tenant_id: uuid.UUID) -> Any:
    type_ = column.type
    if column.name == "tenant_id":
        return tenant_id
    if isinstance(type_, Uuid):
        return uuid.uuid4()
    if isinstance(type_, JSONB):
        return {}
    if isinstance(type_, Boolean):
        return False
    if isinstance(type_, Integer | BigInteger):
        return 1
    if isinstance(type_, Float | Numeric):
        return 1.0
    if isinstance(type_, DateTime):
        return dt.datetime.now(dt.UTC)
    if isinstance(type_, LargeBinary):
        return b"x"
    if isinstance(type_, String | Text):
        return "x"
    if type(type_).__name__.upper() == "VECTOR":
        return [0.1, 0.2, 0.3]
    raise TypeError(f"no test value for {column.table.name}.{column.name} ({type_!r})")


def build_row(
    table: Table, tenant_id: uuid.UUID, made: dict[str, dict[str, Any]], existing: Callable[[Any], Any]
) -> dict[str, Any]:
    """A row for ``table`` whose foreign keys reference rows in ``made`` (table name -> row);
    foreign keys into the global catalogue take an existing value from ``existing(column)``."""
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.identity is not None or (column.autoincrement is True and column.primary_key
                                            and isinstance(column.type, Integer)):
            continue
        if column.server_default is not None and not column.primary_key and not column.foreign_keys:
            continue
        row[column.name] = value_for(column, tenant_id)
    for fk in table.foreign_keys:
        target = fk.column
        if target.table.name == "tenants":
            continue
        parent = made.get(target.table.name)
        if parent is not None and target.name in parent:
            row[fk.parent.name] = parent[target.name]
        elif target.table.info.get("scope") == "global":
            row[fk.parent.name] = None if fk.parent.nullable else existing(target)
    row.update(OVERRIDES.get(table.name, {}))
    return row
