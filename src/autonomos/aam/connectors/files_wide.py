"""Wide CSV files (more than ``WIDE_COLUMNS`` columns), read with Python's csv module.

DuckDB works on vectors of 2,048 rows per column, so a file with tens of thousands of columns
needs hundreds of megabytes per chunk before one row comes out (a 10,000-column file ran out of
a 1 GB limit). Here each row is parsed on its own, so time and memory grow linearly with a
row's width; rows come in chunks of ``chunk_rows`` so the reader can stop between any two.

The rules are the files connector's: values are strings (an empty field is null), a row with
the wrong column count, a bad encoding, an oversized field or a missing key is a BadRecord
with its reason and raw text, and ``offset`` rows (good or bad) are skipped on resume.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator

from autonomos.aam.connectors.base import FieldSpec, Message, RecordMessage
from autonomos.aam.connectors.files_formats import RAW_LIMIT, FileJob, bad, chunk_rows, oversized_field

WIDE_COLUMNS = 500
SAMPLE_CELLS = 200_000

_INTEGER = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"[-+]?(0|[1-9][0-9]*)?([.][0-9]+)?([eE][-+]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")


def _rows(job: FileJob, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank data row; undecodable bytes kept as surrogates."""
    csv.field_size_limit(max(4 * job.max_field_bytes, 16 * 1024 * 1024))
    with open(job.path, encoding=job.encoding, errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        for row in reader:
            if row:
                yield reader.line_num, row


def _raw(job: FileJob, row: list[str], delimiter: str) -> bytes:
    return delimiter.join(row).encode(job.encoding, "surrogateescape")[:RAW_LIMIT + 1]


def scan_wide_csv(job: FileJob, columns: list[str], delimiter: str, offset: int) -> Iterator[list[Message]]:
    size = chunk_rows(len(columns))
    batch: list[Message] = []
    for index, (line, row) in enumerate(_rows(job, delimiter)):
        if index < offset:
            continue
        batch.append(_message(job, columns, delimiter, line, row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _message(job: FileJob, columns: list[str], delimiter: str, line: int, row: list[str]) -> Message:
    if len(row) != len(columns):
        kind = "too many columns" if len(row) > len(columns) else "missing columns"
        return bad(job, f"CSV {kind}: line {line}: expected {len(columns)} columns, found {len(row)}",
                   raw=_raw(job, row, delimiter))
    try:
        delimiter.join(row).encode("utf-8")
    except UnicodeEncodeError:
        return bad(job, f"CSV invalid encoding: line {line}: not valid {job.encoding}", raw=_raw(job, row, delimiter))
    data = {name: (value if value != "" else None) for name, value in zip(columns, row)}
    if sum(map(len, row)) > job.max_field_bytes and (problem := oversized_field(job, data)):
        return bad(job, problem, raw=_raw(job, row, delimiter))
    missing = [k for k in job.primary_key if data.get(k) in (None, "")]
    if missing:
        return bad(job, f"missing key field(s) {', '.join(missing)}", payload=data)
    return RecordMessage(job.stream, data)


def _kind(value: str, candidates: list[str]) -> list[str]:
    """The candidate types ``value`` still fits (the same tests as the DuckDB path's SQL)."""
    keep = []
    for kind in candidates:
        if kind == "integer" and _INTEGER.fullmatch(value):
            keep.append(kind)
        elif kind == "number" and _NUMBER.fullmatch(value) and _parses(float, value):
            keep.append(kind)
        elif kind == "boolean" and value.lower() in ("true", "false"):
            keep.append(kind)
        elif kind == "date" and _DATE.fullmatch(value) and _parses(dt.date.fromisoformat, value):
            keep.append(kind)
        elif kind == "datetime" and _DATETIME.match(value) and _parses(dt.datetime.fromisoformat, value):
            keep.append(kind)
    return keep


def _parses(parse, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def wide_csv_fields(job: FileJob, columns: list[str], delimiter: str) -> list[FieldSpec]:
    """Fields typed from a sample of at most ``SAMPLE_CELLS`` values."""
    candidates: list[list[str] | None] = [None] * len(columns)
    rows = max(1, SAMPLE_CELLS // len(columns))
    for index, (_, row) in enumerate(_rows(job, delimiter)):
        if index >= rows:
            break
        for position, value in enumerate(row[:len(columns)]):
            if value == "":
                continue
            now = candidates[position]
            candidates[position] = _kind(value, ["integer", "number", "boolean", "date", "datetime"] if now is None
                                         else now)
    return [FieldSpec(name=name, type="unknown" if kinds is None else (kinds[0] if kinds else "string"))
            for name, kinds in zip(columns, candidates)]
