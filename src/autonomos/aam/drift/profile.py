"""Value profiles for drift, computed in an ephemeral DuckDB.

Per field: the JSON kinds seen, the type the values read as (CSV text included), null share,
distinct count, the most frequent values, a median, and the share of values in each style a
drift rule compares (ISO or slashed dates and which side is the day, epoch seconds or
milliseconds, decimal comma). Records are handed to DuckDB as arrays, never as SQL literals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import orjson

from autonomos.engines.duckdb import ephemeral_duckdb, top_values

TOP = 50
"""Values kept per field: a field with fewer distinct values keeps its whole value set."""

STYLES: dict[str, str] = {
    "iso_date": r"regexp_full_match(val, '\d{4}-\d{2}-\d{2}')",
    "iso_datetime": r"regexp_full_match(val, '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                    r"(Z|[+\-]\d{2}:?\d{2})?')",
    "slash_date": r"regexp_full_match(val, '\d{1,2}[/.]\d{1,2}[/.]\d{4}')",
    "day_first": r"regexp_full_match(val, '(1[3-9]|2\d|3[01])[/.]\d{1,2}[/.]\d{4}')",
    "month_first": r"regexp_full_match(val, '\d{1,2}[/.](1[3-9]|2\d|3[01])[/.]\d{4}')",
    "epoch_seconds": r"regexp_full_match(val, '1\d{9}|2\d{9}')",
    "epoch_millis": r"regexp_full_match(val, '1\d{12}|2\d{12}')",
    "decimal_comma": r"regexp_full_match(val, '-?\d{1,3}(\.\d{3})*,\d+|-?\d+,\d+')",
    "integer_text": r"regexp_full_match(val, '-?\d+')",
    "number_text": r"regexp_full_match(val, '-?\d+(\.\d+)?([eE][+\-]?\d+)?')",
    "boolean_text": "lower(val) IN ('true', 'false')",
}


def _leaves(record: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, str | None, str | None]]:
    """(path, JSON kind, text) per leaf; nested objects become dotted paths, null is (path, None, None)."""
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _leaves(value, f"{path}.")
        elif value is None:
            yield path, None, None
        elif isinstance(value, bool):
            yield path, "b", "true" if value else "false"
        elif isinstance(value, int):
            yield path, "i", str(value)
        elif isinstance(value, float):
            yield path, "f", repr(value)
        elif isinstance(value, str):
            yield path, "s", value
        else:
            yield path, "a" if isinstance(value, list) else "o", orjson.dumps(value).decode()


def profile_values(records: Iterable[Mapping[str, Any]], *, memory_limit: str = "512MB") -> dict[str, Any]:
    """``{"records": n, "fields": {path: stats}}``; a path missing from a record is null in it."""
    paths: list[str] = []
    kinds: list[str] = []
    vals: list[str] = []
    seen: set[str] = set()
    count = 0
    for record in records:
        count += 1
        for path, kind, text in _leaves(record):
            seen.add(path)
            if kind is not None:
                paths.append(path)
                kinds.append(kind)
                vals.append(text)  # type: ignore[arg-type]
    fields = {path: _empty(count) for path in seen}
    if paths:
        fields.update(_compute(paths, kinds, vals, count, memory_limit))
    return {"records": count, "fields": dict(sorted(fields.items()))}


def _empty(total: int) -> dict[str, Any]:
    return {"count": 0, "null_share": 1.0 if total else 0.0, "type": "unknown", "kinds": [], "distinct": 0,
            "top": [], "median": None, "styles": {}}


def _compute(paths: list[str], kinds: list[str], vals: list[str], total: int, memory_limit: str) -> dict[str, Any]:
    style_sums = ",\n".join(f"sum(CASE WHEN kind IN ('s', 'i') AND {sql} THEN n ELSE 0 END) AS s_{name}"
                            for name, sql in STYLES.items())
    with ephemeral_duckdb(memory_limit) as conn:
        conn.register("v", {"path": np.array(paths, dtype=object), "kind": np.array(kinds, dtype=object),
                            "val": np.array(vals, dtype=object)})
        conn.execute("CREATE TEMP TABLE g AS SELECT path, kind, val, count(*) AS n FROM v GROUP BY ALL")
        stats = conn.execute(f"""
            SELECT path, sum(n) AS n, count(DISTINCT val) AS distinct_values, list(DISTINCT kind) AS kinds,
                   quantile_cont(TRY_CAST(replace(val, ',', '.') AS DOUBLE), 0.5)
                       FILTER (WHERE kind IN ('i', 'f') OR regexp_full_match(val, '-?\\d+([.,]\\d+)?')) AS median,
                   {style_sums}
            FROM g GROUP BY path""")
        names = [d[0] for d in stats.description]
        rows = {r[0]: dict(zip(names, r, strict=True)) for r in stats.fetchall()}
        top = top_values(conn, "g", TOP)
    return {path: _field(row, total, top.get(path, [])) for path, row in rows.items()}


def _field(row: dict[str, Any], total: int, top: list[tuple[str, int]]) -> dict[str, Any]:
    n = int(row["n"])
    styles = {name: round(row[f"s_{name}"] / n, 4) for name in STYLES if row[f"s_{name}"]}
    kinds = sorted(row["kinds"])
    median = None if row["median"] is None else float(row["median"])
    return {"count": n, "null_share": round((total - n) / total, 4) if total else 0.0,
            "type": _read_as(set(kinds), styles), "kinds": kinds, "distinct": int(row["distinct_values"]),
            "top": [list(t) for t in top], "median": median, "styles": styles}


def _read_as(kinds: set[str], styles: dict[str, float]) -> str:
    """The narrowest type every value reads as; text that always looks like a number is one."""
    if kinds <= {"i"}:
        return "integer"
    if kinds <= {"i", "f"}:
        return "number"
    if kinds == {"b"} or (kinds == {"s"} and styles.get("boolean_text") == 1.0):
        return "boolean"
    if kinds in ({"o"}, {"a"}):
        return "object" if kinds == {"o"} else "array"
    if kinds <= {"s", "i"} and styles.get("integer_text") == 1.0:
        return "integer"
    if kinds <= {"s", "i", "f"} and styles.get("number_text") == 1.0:
        return "number"
    if kinds == {"s"} and styles.get("iso_date") == 1.0:
        return "date"
    if kinds == {"s"} and styles.get("iso_datetime") == 1.0:
        return "datetime"
    return "string"
