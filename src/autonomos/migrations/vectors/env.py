"""Alembic environment of the pgvector store: applied only where pgvector is selected and installed."""

from autonomos.migrations.env_common import run
from autonomos.store.vector_tables import VectorBase


def _only_model_objects(obj, name, type_, reflected, compare_to) -> bool:
    # The core schema lives in the same database under its own version table; ignore it here.
    if type_ == "table":
        return name in VectorBase.metadata.tables
    return True


run(VectorBase.metadata, version_table="alembic_version_vectors", include_object=_only_model_objects)
