"""Data: the built-in CRM ontology (dcl/ontology/default/crm.yaml) as default_ontologies row.

A data migration, because the application role may only read the global catalogue. It
inserts the shipped file as the next version of ``crm`` unless the newest stored version
already has its content hash, so re-running it is harmless. To ship a changed default, add
a migration that does the same (tenants keep their versions; new tenants start from it).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.dcl.ontology.documents import content_hash, default_document

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "crm"


def upgrade() -> None:
    document = default_document(NAME)
    digest = content_hash(document)
    bind = op.get_bind()
    newest = bind.execute(
        sa.text("SELECT version, content_hash FROM default_ontologies WHERE name = :n ORDER BY version DESC LIMIT 1"),
        {"n": NAME},
    ).first()
    if newest is not None and newest.content_hash == digest:
        return
    table = sa.table("default_ontologies", sa.column("name", sa.String), sa.column("version", sa.Integer),
                     sa.column("content", postgresql.JSONB), sa.column("content_hash", sa.String))
    op.bulk_insert(table, [{"name": NAME, "version": (newest.version + 1) if newest else 1,
                            "content": document, "content_hash": digest}])


def downgrade() -> None:
    # Tenants' ontologies reference the default they were seeded from; while any does, the row
    # stays (0001's downgrade drops the table with everything else).
    op.execute(
        f"""DO $$ BEGIN
                DELETE FROM default_ontologies WHERE name = '{NAME}';
            EXCEPTION WHEN foreign_key_violation THEN
                RAISE NOTICE 'default ontology {NAME} kept: tenant ontologies reference it';
            END $$"""
    )
