"""One micro-batch through DuckDB: raw payloads in, COPY-ready canonical rows out.

DuckDB extracts the mapped source values, runs the compiled transforms and coercions,
computes each record's failure reason (if any), and derives the two deterministic ids:

* record id: uuid5(tenant:entity:connection:stream:record key), the same wherever it is computed;
* event id: uuid5(tenant:raw record id:mapping version id), a pure function of the raw record
  version and the mapping version (``event_id`` below computes the same in Python).

It also renders the rows in PostgreSQL's COPY text format, so the Python side only moves one
string per batch. The connection is ephemeral, in memory, with external access disabled.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import duckdb
import numpy as np

from autonomos.dcl.mappings.transforms import Compiled, quote, select_sql

NAMESPACE = uuid.UUID("8d4d1f0e-2f4b-5a7c-9e61-3b0c7a5d2e19")
"""uuid5 namespace of canonical record and event ids (fixed forever: ids must stay stable)."""


def event_id(tenant_id: uuid.UUID, raw_record_id: int, mapping_version_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{tenant_id}:{raw_record_id}:{mapping_version_id}")


def record_id(tenant_id: uuid.UUID, entity: str, connection_id: uuid.UUID, stream: str, key: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{tenant_id}:{entity}:{connection_id}:{stream}:{key}")


def _uuid5_sql(name: str) -> str:
    """uuid5(NAMESPACE, name) in DuckDB SQL: SHA-1 of namespace bytes + name, version and variant set."""
    h = f"sha1(unhex('{NAMESPACE.hex}') || encode({name}))"
    return (f"(SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-5' || substr(h, 14, 3) || '-' || "
            f"substr('89ab', ((strpos('0123456789abcdef', substr(h, 17, 1)) - 1) & 3) + 1, 1) || "
            f"substr(h, 18, 3) || '-' || substr(h, 21, 12) FROM (SELECT {h} AS h))")


def _copy_text(expr: str) -> str:
    """A text value escaped for COPY text format (backslash, tab, newline, carriage return); NULL -> \\N."""
    escaped = f"replace(replace(replace(replace({expr}, chr(92), chr(92) || chr(92)), chr(9), '\\t'), chr(10), '\\n'), chr(13), '\\r')"
    return f"coalesce({escaped}, '\\N')"


class BatchTransformer:
    """Compiled once per apply; ``run`` turns one batch into COPY text for the apply's batch table."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, compiled: Compiled, *, tenant_id: uuid.UUID,
                 entity: str, connection_id: uuid.UUID, stream: str, mapping_version_id: uuid.UUID) -> None:
        self.conn = conn
        extract, outputs = select_sql(compiled)
        record_name = quote(f"{tenant_id}:{entity}:{connection_id}:{stream}:") + " || record_key"
        event_name = f"{quote(f'{tenant_id}:')} || CAST(raw_id AS VARCHAR) || {quote(f':{mapping_version_id}')}"
        self.sql = f"""
            WITH src AS (SELECT seq, raw_id, raw_version, record_key, is_deleted, unknown, payload, {extract} AS v
                         FROM batch),
            out AS (
                SELECT seq, raw_id, raw_version, record_key, is_deleted, unknown, {outputs},
                       {_uuid5_sql(record_name)} AS record_id, {_uuid5_sql(event_name)} AS event_id
                FROM src)
            SELECT string_agg(concat_ws(chr(9), CAST(seq AS VARCHAR), CAST(raw_id AS VARCHAR),
                                        CAST(raw_version AS VARCHAR), {_copy_text('record_key')}, record_id, event_id,
                                        {_copy_text('CASE WHEN is_deleted THEN NULL ELSE CAST(data AS VARCHAR) END')},
                                        CASE WHEN is_deleted THEN 't' ELSE 'f' END,
                                        {_copy_text('CASE WHEN is_deleted THEN NULL ELSE error END')},
                                        {_copy_text('CASE WHEN is_deleted THEN NULL ELSE unknown END')}),
                              chr(10) ORDER BY seq) || chr(10),
                   count(*) FILTER (WHERE error IS NOT NULL AND NOT is_deleted)
            FROM out"""

    def run(self, raw_ids: Sequence[int], versions: Sequence[int], keys: Sequence[str],
            payloads: Sequence[str], deleted: Sequence[bool], unknown: Sequence[str | None]) -> tuple[str, int]:
        """(COPY text of the batch, number of records that failed coercion). ``unknown`` is the
        JSON text of each payload's unmapped keys, passed through to the event."""
        self.conn.register("batch", {
            "seq": np.arange(len(raw_ids), dtype=np.int64),
            "raw_id": np.asarray(raw_ids, dtype=np.int64),
            "raw_version": np.asarray(versions, dtype=np.int64),
            "record_key": np.asarray(keys, dtype=object),
            "is_deleted": np.asarray(deleted, dtype=bool),
            "payload": np.asarray(payloads, dtype=object),
            "unknown": np.asarray(unknown, dtype=object),
        })
        try:
            text, failed = self.conn.execute(self.sql).fetchall()[0]
        finally:
            self.conn.unregister("batch")
        return text or "", int(failed or 0)
