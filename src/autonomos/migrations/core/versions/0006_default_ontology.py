"""Data: the built-in CRM ontology as it shipped with this revision, as default_ontologies row.

The document and its content hash are frozen next to this file (``0006_default_ontology.json``,
the normalised ``dcl/ontology/default/crm.yaml`` of that time), so later edits of the shipped
file never change what this migration does.

A data migration, because the application role may only read the global catalogue. It
inserts the frozen document as the next version of ``crm`` unless the newest stored version
already has its content hash, so re-running it is harmless. To ship a changed default, add
a migration that does the same (tenants keep their versions; new tenants start from it).

Revision ID: 0006
Revises: 0005
"""

import json
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FROZEN = json.loads(Path(__file__).with_suffix(".json").read_text(encoding="utf-8"))
NAME = FROZEN["name"]


def upgrade() -> None:
    document, digest = FROZEN["content"], FROZEN["content_hash"]
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
