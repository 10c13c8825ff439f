"""Alembic environment of the core schema (every table but the vector store's)."""

import autonomos.store.tables  # noqa: F401  (registers every table)
from autonomos.migrations.env_common import run
from autonomos.store.base import Base

run(Base.metadata, version_table="alembic_version")
