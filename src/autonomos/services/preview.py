"""What a mapping choice would produce: a few real landed records through a field's mapping.

Reviewers decide faster when they see values. A preview reads the latest few raw records of
the proposal's stream and runs the candidate mapping (canonical field + transform) through
the same compiled DuckDB transform the apply uses, in an ephemeral DuckDB without external
access, so it shows what publishing would write, conversion failures included.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import duckdb
from sqlalchemy import select

from autonomos.dcl.mappings import review as queue
from autonomos.dcl.mappings.exceptions import MappingError
from autonomos.dcl.mappings.transforms import compile_fields, normalise_steps, select_sql
from autonomos.engines.duckdb import ephemeral_duckdb
from autonomos.errors import NotFound
from autonomos.runtime import Runtime
from autonomos.services.ontology import ontology_version
from autonomos.store.tables import MappingProposal, RawRecord

PREVIEW_RECORDS = 5
Choice = tuple[uuid.UUID, str | None, Any]
"""(proposal id, ``entity.field`` or None for the top candidate, transform or None for the suggested one)."""


def preview_field(rt: Runtime, tenant_id: uuid.UUID, proposal_id: uuid.UUID, target: str | None = None,
                  transform: Any = None, limit: int = PREVIEW_RECORDS) -> list[dict[str, Any]]:
    """[{record_key, source, value, error}] for up to ``limit`` landed records of the proposal's stream."""
    return preview_fields(rt, tenant_id, [(proposal_id, target, transform)], limit)[proposal_id]


def preview_fields(rt: Runtime, tenant_id: uuid.UUID, choices: Sequence[Choice],
                   limit: int = PREVIEW_RECORDS) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Previews of several proposals (one DuckDB, one read of the landed records per stream)."""
    tables = {t["name"]: {f["name"]: f.get("type", "string") for f in t["fields"]}
              for t in ontology_version(rt, tenant_id).content.get("tables", [])}
    out: dict[uuid.UUID, list[dict[str, Any]]] = {}
    raws: dict[tuple[uuid.UUID, str], list] = {}
    with rt.db.tenant(tenant_id) as session:
        rows = {r.id: r for r in session.scalars(select(MappingProposal).where(
            MappingProposal.tenant_id == tenant_id, MappingProposal.id.in_([c[0] for c in choices])))}
        for proposal_id, *_ in choices:
            if proposal_id not in rows:
                raise NotFound("no such proposal", tenant=tenant_id, proposal=proposal_id)
            key = (rows[proposal_id].connection_id, rows[proposal_id].stream)
            if key not in raws:
                raws[key] = session.execute(
                    select(RawRecord.record_key, RawRecord.payload)
                    .where(RawRecord.tenant_id == tenant_id, RawRecord.connection_id == key[0],
                           RawRecord.stream == key[1], RawRecord.is_deleted.is_(False))
                    .order_by(RawRecord.id.desc()).limit(limit)).all()
    with ephemeral_duckdb("256MB", threads=1) as conn:
        for proposal_id, target, transform in choices:
            row = rows[proposal_id]
            entity, field = _target(row, target)
            if field not in tables.get(entity, {}):
                raise MappingError(f"{entity}.{field} is not a canonical field", entity=entity, field=field)
            steps = normalise_steps(transform if transform is not None else row.evidence.get("suggested_transform"))
            out[proposal_id] = _run(conn, raws[(row.connection_id, row.stream)], row.source_field, field, steps,
                                    tables[entity])
    return out


def _target(row: MappingProposal, target: str | None) -> tuple[str, str]:
    if target is None:
        if not row.candidates:
            raise MappingError("the proposal has no candidate to preview", proposal=row.id)
        return row.candidates[0]["entity"], row.candidates[0]["field"]
    entity, _, field = target.partition(".")
    if not field:
        fallback = row.evidence.get("entity") or (row.candidates[0]["entity"] if row.candidates else "")
        return fallback, entity
    return entity, field


def _run(conn: duckdb.DuckDBPyConnection, raws: list, source_field: str, field: str, steps: list,
         types: dict[str, str]) -> list[dict[str, Any]]:
    compiled = compile_fields([{"source_field": source_field, "canonical_field": field, "transform": steps}], types)
    extract, outputs = select_sql(compiled)
    conn.execute("CREATE OR REPLACE TEMP TABLE batch (record_key VARCHAR, payload JSON)")
    if raws:
        conn.executemany("INSERT INTO batch VALUES (?, ?)", [(k, json.dumps(p)) for k, p in raws])
    sql = f"SELECT record_key, v[1] AS source, {outputs} FROM (SELECT record_key, payload, {extract} AS v FROM batch)"
    return [{"record_key": key, "source": source, "value": json.loads(data).get(field) if data else None,
             "error": error} for key, source, data, error in conn.execute(sql).fetchall()]


def canonical_fields(rt: Runtime, tenant_id: uuid.UUID) -> list[str]:
    """Every ``entity.field`` of the tenant's current ontology (what "choose another target" offers)."""
    content = ontology_version(rt, tenant_id).content
    return [f"{t['name']}.{f['name']}" for t in content.get("tables", []) for f in t["fields"]]
