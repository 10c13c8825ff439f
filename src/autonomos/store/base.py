"""Declarative base and the two kinds of table: tenant-owned and global.

A table is one of:

* **tenant** (``TenantOwned``): has ``tenant_id NOT NULL`` referencing ``tenants`` with
  ``ON DELETE CASCADE``, a tenant-first index, and row-level security (enabled and
  forced) keyed on the transaction setting ``app.tenant_id``. Almost everything.
* **global** (``GlobalCatalogue``): the built-in catalogue shared by every tenant
  (providers, the default ontology). The application role may only read it.
* **platform**: rows about tenants themselves (``tenants``, the platform audit log),
  written only through the maintenance path.
* **staging**: the landing's COPY target (RLS forbids COPY into protected tables). Rows
  are copied in, moved into a tenant table and deleted in the same transaction, so no
  committed row ever exists there and other transactions never see one.

The scope is stored in ``Table.info["scope"]``; migrations, the RLS test and
``scope_of`` all read it from there, so a new table cannot forget its scope silently.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from sqlalchemy import DateTime, ForeignKey, MetaData, Table, Uuid, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

TableScope = Literal["tenant", "global", "platform", "staging"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TENANT_SETTING = "app.tenant_id"
"""Transaction-local setting that row-level security policies compare ``tenant_id`` with."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if table is not None:
            table.info.setdefault("scope", getattr(cls, "__scope__", None))


def utcnow_column() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def new_id_column() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class TenantOwned:
    """Mixin for tenant tables: ``tenant_id`` first, cascading from ``tenants``, RLS-protected."""

    __scope__: TableScope = "tenant"
    __tenant_fk__: bool = True
    """Bulk tables whose rows already cascade from a parent (raw records from their connection)
    set this False: a second foreign-key check per row costs more than it protects."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        if not cls.__tenant_fk__:
            return mapped_column(Uuid, nullable=False)
        return mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


class GlobalCatalogue:
    """Mixin for the built-in catalogue every tenant reads and none may change."""

    __scope__: TableScope = "global"


def scope_of(table: Table) -> TableScope:
    """The declared scope of a table (every table declares one)."""
    scope = table.info.get("scope")
    if scope not in ("tenant", "global", "platform", "staging"):
        raise ValueError(f"table {table.name} declares no scope")
    return scope


def tenant_tables(metadata: MetaData = Base.metadata) -> list[Table]:
    """Every tenant-owned table, in dependency order."""
    return [t for t in metadata.sorted_tables if scope_of(t) == "tenant"]
