"""How each file format is scanned through DuckDB: rows as messages, malformed input as BadRecords.

A scan yields batches of messages covering the rows of the file's row relation in order
(``rows_in`` says how many rows each message stands for, so ``OFFSET rows_done`` resumes
it), and afterwards appends to ``trailing`` what DuckDB
rejected while parsing (CSV/NDJSON lines with a bad encoding or column count, over-long
lines) or one BadRecord when the whole file cannot be read. Raw text kept for quarantine is
cut to ``RAW_LIMIT`` bytes and the reason says so.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

import orjson

from autonomos.aam.connectors.base import BadRecord, Message, RecordBatch, RecordMessage
from autonomos.aam.connectors.files_json import json_elements
from autonomos.aam.connectors.values import Converter, row_builder, to_jsonable

RAW_LIMIT = 64 * 1024
BATCH_ROWS = 10_000
CHUNK_CELLS = 200_000
"""A fetch holds at most this many values (rows x columns), so a wide file's rows come in small
chunks and the reader can stop between any two of them."""
DEFAULT_MAX_COLUMNS = 10_000
PROBLEM = "__aos_problem"
NATIVE_IDS = {"varchar", "bigint", "integer", "smallint", "tinyint", "double", "float", "boolean"}
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1",
             "iso-8859-1": "latin-1", "utf-16": "utf-16", "utf16": "utf-16"}
"""Encodings DuckDB's CSV reader decodes without extensions (others would need a download)."""


@dataclass(frozen=True)
class FileJob:
    """One file of one stream, with the rules its rows are checked against."""

    stream: str
    path: str
    format: str
    primary_key: tuple[str, ...] = ()
    delimiter: str | None = None
    encoding: str = "utf-8"
    max_field_bytes: int = 1024 * 1024
    max_columns: int = DEFAULT_MAX_COLUMNS


def chunk_rows(columns: int) -> int:
    """Rows per fetch for a relation this wide (see ``CHUNK_CELLS``)."""
    return max(1, min(BATCH_ROWS, CHUNK_CELLS // max(1, columns)))


def col(index: int) -> str:
    """A CSV column by position: DuckDB folds identifiers case-insensitively, so ``Email`` and
    ``email`` could not both be addressed by name; the header's names only become JSON keys."""
    return f"c{index}"


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def truncated(raw: bytes | str) -> tuple[bytes | str, str]:
    """``raw`` cut to RAW_LIMIT bytes, and the words the reason gets when it was cut."""
    size = len(raw.encode("utf-8", "replace")) if isinstance(raw, str) else len(raw)
    if size <= RAW_LIMIT:
        return raw, ""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")[:RAW_LIMIT].decode("utf-8", "ignore")
    else:
        raw = raw[:RAW_LIMIT]
    return raw, f" (raw truncated from {size} to {RAW_LIMIT} bytes)"


def bad(job: FileJob, reason: str, raw: bytes | str | None = None, payload: dict[str, Any] | None = None) -> BadRecord:
    note = ""
    if raw is not None:
        raw, note = truncated(raw)
    return BadRecord(stream=job.stream, reason=f"{reason}{note}", raw=raw, payload=payload)


def duck_encoding(encoding: str) -> str:
    return ENCODINGS.get(encoding.lower().replace("_", "-"), "")


def csv_header(job: FileJob) -> tuple[list[str], str]:
    """Column names from the first line (deduplicated, blanks named) and the delimiter."""
    with open(job.path, encoding=job.encoding, errors="replace", newline="") as handle:
        first = handle.readline(max(4 * job.max_field_bytes, 16 * 1024 * 1024))
    delimiter = job.delimiter or max(",;\t|", key=first.count)
    names: list[str] = []
    seen: set[str] = set()
    for index, name in enumerate(next(csv.reader([first], delimiter=delimiter), [])):
        name = name.strip() or f"column{index + 1}"
        while name in seen:
            name += "_"
        seen.add(name)
        names.append(name)
    return names, delimiter


def too_wide(job: FileJob, columns: int, what: str, raw: bytes | str | None = None) -> BadRecord:
    return bad(job, f"{what} has {columns} columns, over the limit of {job.max_columns} (AOS_MAX_COLUMNS)", raw=raw)


def csv_source(job: FileJob, count: int, delimiter: str, quote: str = '"') -> str:
    """``read_csv`` of ``count`` VARCHAR columns named by position (``col``)."""
    struct = "{" + ", ".join(f"{lit(col(i))}: 'VARCHAR'" for i in range(count)) + "}"
    max_line = max(4 * job.max_field_bytes, 16 * 1024 * 1024)
    return (
        f"read_csv({lit(job.path)}, auto_detect=false, header={str(quote != '').lower()}, columns={struct}, "
        f"delim={lit(delimiter)}, quote={lit(quote)}, escape={lit(quote)}, encoding={lit(duck_encoding(job.encoding))}, "
        f"max_line_size={max_line}, store_rejects=true)"
    )


def _problem_sql(job: FileJob, columns: dict[str, str]) -> str:
    """SQL naming the first reason a row is bad (an oversized text field, a missing key), or NULL."""
    whens = [
        f"WHEN strlen(CAST({ident(c)} AS VARCHAR)) > {job.max_field_bytes} THEN 'field too large: field ' || {lit(json.dumps(c))} || ' is ' "
        f"|| strlen(CAST({ident(c)} AS VARCHAR)) || ' bytes, over max_field_bytes {job.max_field_bytes}'"
        for c, type_id in columns.items() if type_id in ("varchar", "blob")
    ]
    if job.primary_key:
        empty = {k: (f"({ident(k)} IS NULL OR CAST({ident(k)} AS VARCHAR) = '')" if k in columns else "true")
                 for k in job.primary_key}
        names = ", ".join(f"CASE WHEN {cond} THEN {lit(k)} END" for k, cond in empty.items())
        whens.append(f"WHEN {' OR '.join(empty.values())} THEN 'missing key field(s) ' || concat_ws(', ', {names})")
    return f"CASE {' '.join(whens)} END" if whens else "NULL"


def _relation_batches(job: FileJob, result: duckdb.DuckDBPyConnection, columns: list[str],
                      converters: dict[int, Converter]) -> Iterator[list[Message]]:
    """Rows whose last column is the problem (NULL when the row is good) as messages."""
    build = row_builder(columns, converters)
    stream = job.stream
    while rows := result.fetchmany(chunk_rows(len(columns))):
        batch: list[Message] = []
        for row in rows:
            problem = row[-1]
            if problem is None:
                batch.append(RecordMessage(stream, build(row)))
            elif problem.startswith("missing key"):
                batch.append(bad(job, problem, payload=build(row)))
            else:
                batch.append(bad(job, problem, raw=json.dumps(build(row), default=str)))
        yield batch


def _rejects(conn: duckdb.DuckDBPyConnection, job: FileJob, what: str) -> list[BadRecord]:
    """What DuckDB's reader rejected in the last scan of this file, in line order."""
    rows = conn.execute(
        "SELECT DISTINCT ON (e.line) e.line, e.error_type, e.error_message, e.csv_line, e.line_byte_position "
        "FROM reject_errors e WHERE e.scan_id = (SELECT max(scan_id) FROM reject_scans WHERE file_path = ?) "
        "ORDER BY e.line", [job.path],
    ).fetchall()
    records = []
    for line, error_type, message, text, position in rows:
        raw: bytes | str = text or ""
        if error_type == "INVALID ENCODING":
            raw = _raw_line(job.path, position) or raw
        records.append(bad(job, f"{what} {str(error_type).lower()}: line {line}: {message}", raw=raw))
    return records


def _raw_line(path: str, position: int | None) -> bytes | None:
    """The undecoded bytes of a rejected line. DuckDB reports a position one or two bytes past the
    previous line's end, so step back and skip line breaks; None when that does not land on one."""
    if not position:
        return None
    with open(path, "rb") as handle:
        handle.seek(max(position - 2, 0))
        chunk = handle.read(RAW_LIMIT + 2)
    if position > 2 and chunk[:1] not in (b"\n", b"\r"):
        return None
    return chunk.lstrip(b"\r\n").split(b"\n", 1)[0].rstrip(b"\r")


def _file_error(job: FileJob, error: Exception) -> BadRecord:
    with open(job.path, "rb") as handle:
        head = handle.read(RAW_LIMIT + 1)
    return bad(job, f"{job.format} file could not be read: {str(error).splitlines()[0]}", raw=head)


def scan_csv(conn: duckdb.DuckDBPyConnection, job: FileJob, offset: int, trailing: list[BadRecord]) -> Iterator[list[Message]]:
    """CSV with every column VARCHAR, so ids like ``00123`` keep their zeros.

    DuckDB serialises each row as canonical JSON (keys sorted, as ``canonical_json`` does) and
    computes its key, so rows reach the lander as ``RecordBatch`` text without a Python dict each.
    Columns are addressed by position and the SQL holds a fixed number of expressions per
    column, so a row's cost grows linearly with its width; rows come ``chunk_rows`` at a time.
    """
    columns, delimiter = csv_header(job)
    if not columns:
        return
    if len(columns) > job.max_columns:
        with open(job.path, "rb") as handle:
            trailing.append(too_wide(job, len(columns), "CSV header", raw=handle.read(RAW_LIMIT + 1)))
        return
    from autonomos.aam.connectors.files_wide import WIDE_COLUMNS, scan_wide_csv

    if len(columns) > WIDE_COLUMNS:
        yield from scan_wide_csv(job, columns, delimiter, offset)
        return
    order = sorted(range(len(columns)), key=columns.__getitem__)
    pairs = ", ".join(f"{lit(columns[i])}, {col(i)}" for i in order)
    sql = (f"SELECT CAST(json_object({pairs}) AS VARCHAR), {_key_sql(job, columns)}, {_missing_key_sql(job, columns)} "
           f"FROM {csv_source(job, len(columns), delimiter)} OFFSET {offset}")
    try:
        result = conn.execute(sql)
        while rows := result.fetchmany(chunk_rows(len(columns))):
            yield _json_batch(job, rows)
    except duckdb.Error as error:
        trailing.append(_file_error(job, error))
        return
    trailing.extend(_rejects(conn, job, "CSV"))


def _key_position(columns: list[str], key: str) -> str:
    return col(columns.index(key)) if key in columns else "NULL"


def _missing_key_sql(job: FileJob, columns: list[str]) -> str:
    """SQL naming the key fields a row lacks ('missing key field(s) ...'), or NULL."""
    if not job.primary_key:
        return "NULL"
    empty = {k: f"({_key_position(columns, k)} IS NULL OR {_key_position(columns, k)} = '')" for k in job.primary_key}
    names = ", ".join(f"CASE WHEN {cond} THEN {lit(k)} END" for k, cond in empty.items())
    return f"CASE WHEN {' OR '.join(empty.values())} THEN 'missing key field(s) ' || concat_ws(', ', {names}) END"


def _key_sql(job: FileJob, columns: list[str]) -> str:
    """The record key as ``record_key`` computes it: the key column's text, or a JSON array of them."""
    if not job.primary_key:
        return "NULL"
    parts = [_key_position(columns, k) for k in job.primary_key]
    if len(parts) == 1:
        return f"CAST({parts[0]} AS VARCHAR)"
    return f"CAST(to_json([{', '.join(f'CAST({p} AS VARCHAR)' for p in parts)}]) AS VARCHAR)"


def oversized_field(job: FileJob, data: dict[str, Any]) -> str | None:
    """The reason a record has a field over ``max_field_bytes``, or None."""
    for key, value in data.items():
        size = len(value.encode("utf-8")) if isinstance(value, str) else len(json.dumps(value))
        if size > job.max_field_bytes:
            return f"field too large: field {json.dumps(key)} is {size} bytes, over max_field_bytes {job.max_field_bytes}"
    return None


def _json_batch(job: FileJob, rows: list[tuple[str, str | None, str | None]]) -> list[Message]:
    """(json, key, problem) rows -> record batches of the good runs, bad records in between.

    Only a row whose whole text exceeds ``max_field_bytes`` can hold an oversized field, so
    only such rows are parsed to look for it."""
    out: list[Message] = []
    payloads: list[str] = []
    keys: list[str] = []

    def flush() -> None:
        if payloads:
            out.append(RecordBatch(job.stream, list(payloads), list(keys) if job.primary_key else None))
            payloads.clear()
            keys.clear()

    for payload, key, problem in rows:
        if problem is None and len(payload) > job.max_field_bytes:
            problem = oversized_field(job, orjson.loads(payload))
        if problem is None:
            payloads.append(payload)
            keys.append(key)
            continue
        flush()
        if problem.startswith("missing key"):
            out.append(bad(job, problem, payload=orjson.loads(payload)))
        else:
            out.append(bad(job, problem, raw=payload))
    flush()
    return out


def _json_record(job: FileJob, text: str, what: str) -> Message:
    """One JSON object's text as a record, or a BadRecord saying why it is not one."""
    try:
        data = json.loads(text)
    except ValueError as error:
        return bad(job, f"invalid JSON {what}: {error}", raw=text)
    except RecursionError:
        return bad(job, f"JSON {what} is nested too deeply to read", raw=text)
    return _json_value_record(job, data, text, what)


def _json_value_record(job: FileJob, data: Any, text: str, what: str) -> Message:
    """One parsed JSON value as a record, or a BadRecord saying why it is not one."""
    if not isinstance(data, dict):
        return bad(job, f"JSON {what} is a {type(data).__name__}, not an object", raw=text)
    if len(data) > job.max_columns:
        return too_wide(job, len(data), f"JSON {what}", raw=text)
    if len(text) > job.max_field_bytes and (problem := oversized_field(job, data)):
        return bad(job, problem, raw=text)
    missing = [k for k in job.primary_key if data.get(k) in (None, "")]
    if missing:
        return bad(job, f"missing key field(s) {', '.join(missing)}", payload=data)
    return RecordMessage(job.stream, data)


def scan_ndjson(conn: duckdb.DuckDBPyConnection, job: FileJob, offset: int, trailing: list[BadRecord]) -> Iterator[list[Message]]:
    """NDJSON read as lines (DuckDB decodes and rejects), each parsed on its own so one bad line stays one."""
    source = csv_source(job, 1, "\x1f", quote="")
    sql = f"SELECT {col(0)} FROM {source} WHERE {col(0)} IS NOT NULL AND trim({col(0)}) <> '' OFFSET {offset}"
    try:
        result = conn.execute(sql)
        while rows := result.fetchmany(BATCH_ROWS):
            yield [_json_record(job, row[0], "line") for row in rows]
    except duckdb.Error as error:
        trailing.append(_file_error(job, error))
        return
    trailing.extend(_rejects(conn, job, "NDJSON"))


def scan_json(conn: duckdb.DuckDBPyConnection, job: FileJob, offset: int, trailing: list[BadRecord]) -> Iterator[list[Message]]:
    """A JSON array of objects, or one object, per file."""
    size = max(4 * job.max_field_bytes, 16 * 1024 * 1024)
    sql = f"SELECT json FROM read_json_objects({lit(job.path)}, format='auto', maximum_object_size={size}) OFFSET {offset}"
    done = 0
    try:
        result = conn.execute(sql)
        while rows := result.fetchmany(BATCH_ROWS):
            done += len(rows)
            yield [_json_record(job, row[0], "object") for row in rows]
    except duckdb.Error as error:
        if (elements := json_elements(job.path)) is None:
            trailing.append(_file_error(job, error))
            return
        yield from _element_batches(job, elements[offset + done:])


def _element_batches(job: FileJob, elements: list[Any]) -> Iterator[list[Message]]:
    """Parsed elements as records (each checked like a DuckDB-read object), BATCH_ROWS at a time."""
    for start in range(0, len(elements), BATCH_ROWS):
        batch = []
        for element in elements[start:start + BATCH_ROWS]:
            try:
                text = json.dumps(element, ensure_ascii=True)
            except (ValueError, RecursionError):
                batch.append(bad(job, "JSON object is nested too deeply to read"))
                continue
            batch.append(_json_value_record(job, element, text, "object"))
        yield batch


def scan_parquet(conn: duckdb.DuckDBPyConnection, job: FileJob, offset: int, trailing: list[BadRecord]) -> Iterator[list[Message]]:
    """Parquet with its own types, converted to JSON-serialisable values (see ``values``)."""
    try:
        relation = conn.sql(f"SELECT * FROM read_parquet({lit(job.path)})")
        columns, types = relation.columns, relation.types
        if len(columns) > job.max_columns:
            trailing.append(too_wide(job, len(columns), "Parquet file"))
            return
        selects, converters = [], {}
        for index, (name, dtype) in enumerate(zip(columns, types)):
            if dtype.id == "timestamp with time zone":  # as UTC text: DuckDB's Python values would need pytz
                selects.append(f"strftime(CAST({ident(name)} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%f') || '+00:00'")
            else:
                selects.append(ident(name))
                if dtype.id not in NATIVE_IDS:
                    converters[index] = to_jsonable
        problem = _problem_sql(job, {c: t.id for c, t in zip(columns, types)})
        # No SET here: the engine already runs in UTC, and a sandboxed connection's configuration is locked.
        result = conn.execute(
            f"SELECT {', '.join(selects)}, {problem} AS {PROBLEM} FROM read_parquet({lit(job.path)}) OFFSET {offset}"
        )
        yield from _relation_batches(job, result, columns, converters)
    except duckdb.Error as error:
        trailing.append(_file_error(job, error))


SCANNERS = {"csv": scan_csv, "ndjson": scan_ndjson, "json": scan_json, "parquet": scan_parquet}
