"""What fields a file has and what their values look like, for ``discover``.

CSV values stay strings when read; discover still says what they look like (integer, date,
...) from a sample, and a column with leading zeros (``00123``) is a string, never an integer.
JSON and Parquet types come from DuckDB; struct fields are flattened into dotted names with
their ``path``.
"""

from __future__ import annotations

import duckdb

from autonomos.aam.connectors.base import FieldSpec
from autonomos.aam.connectors.files_formats import FileJob, col, csv_header, csv_source, lit
from autonomos.aam.connectors.files_wide import WIDE_COLUMNS, wide_csv_fields
from autonomos.aam.connectors.typing import FieldType

SAMPLE_ROWS = 10_000
SAMPLE_CELLS = 1_000_000

_INTEGER_IDS = {"tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint",
                "uinteger", "ubigint", "uhugeint"}
_STRING_IDS = {"varchar", "uuid", "blob", "time", "interval", "bit", "time with time zone"}


def field_type(dtype: duckdb.typing.DuckDBPyType) -> FieldType:
    """A DuckDB type as one of the FieldType words."""
    type_id = dtype.id
    if type_id in _INTEGER_IDS:
        return "integer"
    if type_id in ("double", "float", "decimal"):
        return "number"
    if type_id == "boolean":
        return "boolean"
    if type_id == "date":
        return "date"
    if type_id.startswith("timestamp"):
        return "datetime"
    if type_id in ("struct", "map"):
        return "object"
    if type_id in ("list", "array"):
        return "array"
    if type_id in _STRING_IDS:
        return "string"
    return "unknown"


def flatten(names: list[str], types: list[duckdb.typing.DuckDBPyType], parent: tuple[str, ...] = ()) -> list[FieldSpec]:
    """Fields, with every struct's children after it as ``a.b`` named FieldSpecs with a ``path``."""
    fields: list[FieldSpec] = []
    for name, dtype in zip(names, types):
        path = (*parent, name)
        fields.append(FieldSpec(name=".".join(path), type=field_type(dtype), path=path if parent else ()))
        if dtype.id == "struct":
            children = dtype.children
            fields.extend(flatten([c[0] for c in children], [c[1] for c in children], path))
    return fields


def _csv_type_sql(c: str) -> str:
    """The FieldType word every non-null value of column expression ``c`` fits, as SQL."""
    every = lambda cond: f"bool_and({c} IS NULL OR ({cond}))"  # noqa: E731
    return (
        f"CASE WHEN count({c}) = 0 THEN 'unknown' "
        f"WHEN {every(f'regexp_full_match({c}, ' + lit('[-+]?(0|[1-9][0-9]*)') + ')')} THEN 'integer' "
        f"WHEN {every(f'regexp_full_match({c}, ' + lit('[-+]?(0|[1-9][0-9]*)?([.][0-9]+)?([eE][-+]?[0-9]+)?') + f') AND TRY_CAST({c} AS DOUBLE) IS NOT NULL')} THEN 'number' "
        f"WHEN {every(f'lower({c}) IN (' + lit('true') + ', ' + lit('false') + ')')} THEN 'boolean' "
        f"WHEN {every(f'regexp_full_match({c}, ' + lit('[0-9]{4}-[0-9]{2}-[0-9]{2}') + f') AND TRY_CAST({c} AS DATE) IS NOT NULL')} THEN 'date' "
        f"WHEN {every(f'regexp_matches({c}, ' + lit('^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}') + f') AND TRY_CAST({c} AS TIMESTAMPTZ) IS NOT NULL')} THEN 'datetime' "
        "ELSE 'string' END"
    )


def csv_fields(conn: duckdb.DuckDBPyConnection, job: FileJob) -> list[FieldSpec]:
    """Fields of a CSV file, each typed from a sample.

    The sample is unpivoted into (column position, value) rows and grouped once, so the SQL has
    the same few expressions however wide the file is (one aggregate per column made DuckDB's
    planning grow faster than the width); wide files sample fewer rows (``SAMPLE_CELLS``)."""
    columns, delimiter = csv_header(job)
    if not columns or len(columns) > job.max_columns:
        return []
    if len(columns) > WIDE_COLUMNS:
        return wide_csv_fields(job, columns, delimiter)
    rows = max(1, min(SAMPLE_ROWS, SAMPLE_CELLS // len(columns)))
    sample = f"(SELECT * FROM {csv_source(job, len(columns), delimiter)} LIMIT {rows})"
    words = {}
    try:
        for name, word in conn.execute(
            f"SELECT name, {_csv_type_sql('v')} FROM (UNPIVOT {sample} ON COLUMNS(*) INTO NAME name VALUE v) "
            "GROUP BY name"
        ).fetchall():
            words[int(name[1:])] = word
    except duckdb.Error:
        pass
    return [FieldSpec(name=c, type=words.get(i, "unknown")) for i, c in enumerate(columns)]


def native_fields(conn: duckdb.DuckDBPyConnection, job: FileJob) -> list[FieldSpec]:
    """Fields of a JSON, NDJSON or Parquet file as DuckDB reads them (none when it cannot)."""
    source = {
        "parquet": f"read_parquet({lit(job.path)})",
        "json": f"read_json({lit(job.path)}, format='auto', sample_size={SAMPLE_ROWS})",
        "ndjson": f"read_json({lit(job.path)}, format='newline_delimited', records=true, ignore_errors=true, "
                  f"sample_size={SAMPLE_ROWS})",
    }[job.format]
    try:
        relation = conn.sql(f"SELECT * FROM {source}")
        return flatten(relation.columns, relation.types)
    except duckdb.Error:
        return _object_lines_fields(conn, job) if job.format == "ndjson" else []


def _object_lines_fields(conn: duckdb.DuckDBPyConnection, job: FileJob) -> list[FieldSpec]:
    """Fields of the lines that are JSON objects, for NDJSON files that also hold other lines
    (DuckDB's reader refuses those; this loses its date detection, not the structure)."""
    objects = (
        f"(SELECT CAST({col(0)} AS JSON) AS j FROM {csv_source(job, 1, chr(0x1f), quote='')} "
        f"WHERE CASE WHEN json_valid({col(0)}) THEN json_type({col(0)}) = 'OBJECT' ELSE false END "
        f"LIMIT {SAMPLE_ROWS})"
    )
    try:
        structure = conn.execute(f"SELECT json_group_structure(j) FROM {objects}").fetchone()[0]
        if structure is None:
            return []
        relation = conn.sql(f"SELECT json_transform(j, {lit(str(structure))}) AS r FROM {objects}")
        children = relation.types[0].children
        return flatten([c[0] for c in children], [c[1] for c in children])
    except duckdb.Error:
        return []


def file_fields(conn: duckdb.DuckDBPyConnection, job: FileJob) -> list[FieldSpec]:
    return csv_fields(conn, job) if job.format == "csv" else native_fields(conn, job)
