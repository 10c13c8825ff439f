"""Repairs of a mapping version for a schema change: the candidate fields, and a trial of
each candidate on landed values before it is proposed.

A repair is a new set of fields for one mapping: a rename re-points every entry (and every
``concat`` partner) from the old source field to the new one; a format, unit or type change
rewrites the transform of the entries that read the field. ``trial`` runs candidate fields
through the same compiled DuckDB SQL as apply, on payloads given as plain dicts, so what is
measured is exactly what apply would write. Nothing here knows where a change was detected.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from autonomos.dcl.mappings.transforms import compile_fields, normalise_steps, select_sql
from autonomos.dcl.mappings.typing import TransformStep
from autonomos.engines.duckdb import ephemeral_duckdb

DATE_FORMATS = {"slash_day_first": "%d/%m/%Y", "slash_month_first": "%m/%d/%Y"}
"""strptime format of each slashed date style a drift rule names (dots are read as slashes too)."""


def reads(fields: Sequence[dict], source: str) -> bool:
    """Whether a version's fields read ``source`` (directly or as a concat partner)."""
    return bool(targets_of(fields, source))


def repoint(fields: Sequence[dict], old: str, new: str) -> list[dict]:
    """The fields with every read of ``old`` made a read of ``new``."""
    out = []
    for entry in copy.deepcopy(list(fields)):
        if entry["source_field"] == old:
            entry["source_field"] = new
        for step in normalise_steps(entry.get("transform")):
            if "with" in step:
                step["with"] = [new if name == old else name for name in step["with"]]
        out.append(entry)
    return out


def _retransform(fields: Sequence[dict], source: str, change) -> list[dict]:
    out = []
    for entry in copy.deepcopy(list(fields)):
        if entry["source_field"] == source:
            steps = change(normalise_steps(entry.get("transform")))
            if steps:
                entry["transform"] = steps
            else:
                entry.pop("transform", None)
        out.append(entry)
    return out


def _without(steps: list[TransformStep], ops: tuple[str, ...]) -> list[TransformStep]:
    return [s for s in steps if s["op"] not in ops]


def _date_steps(style: str, samples: Sequence[Any]) -> list[TransformStep]:
    if style in DATE_FORMATS:
        fmt = DATE_FORMATS[style]
        if any("." in str(s) for s in samples) and not any("/" in str(s) for s in samples):
            fmt = fmt.replace("/", ".")
        return [{"op": "parse_date", "format": fmt}]
    if style in ("epoch_seconds", "epoch_millis"):
        return [{"op": "epoch", "unit": "s" if style == "epoch_seconds" else "ms"}]
    return [{"op": "parse_date"}]


def candidates(fields: Sequence[dict], kind: str, rule: str, source: str, after: Any,
               samples: Sequence[Any] = ()) -> list[tuple[str, list[dict]]]:
    """(what it does, repaired fields) for a change of ``kind`` on ``source``, most specific first."""
    if kind == "field_renamed":
        return [(f"read {after} instead of {source}", repoint(fields, source, str(after)))]
    if kind == "format_changed" and rule in ("date_style", "epoch_unit"):
        dated = ("parse_date", "epoch")
        return [(f"read {source} as {after}",
                 _retransform(fields, source, lambda s: _date_steps(str(after), samples) + _without(s, dated)))]
    if kind == "unit_scale":
        factor = 100 if rule.endswith("100") else 1000

        def rescale(steps: list[TransformStep]) -> list[TransformStep]:
            scales = [s for s in steps if s["op"] == "scale"]
            if scales:
                return [({**s, "factor": float(s["factor"]) / factor} if s is scales[0] else s) for s in steps]
            return [*steps, {"op": "scale", "factor": 1 / factor}]
        return [(f"divide {source} by {factor}", _retransform(fields, source, rescale))]
    if kind == "type_changed":
        return [("keep the mapping (values still convert)", [dict(f) for f in fields]),
                (f"read the last word of {source}", _retransform(
                    fields, source, lambda s: [{"op": "split", "separator": " ", "part": -1}, *s])),
                (f"read the first word of {source}", _retransform(
                    fields, source, lambda s: [{"op": "split", "separator": " ", "part": 0}, *s]))]
    return []


@dataclass(frozen=True)
class TrialRow:
    data: dict[str, Any]
    error: str | None


def trial(fields: Sequence[dict], types: dict[str, str], payloads: Sequence[dict[str, Any]], *,
          memory_limit: str = "256MB") -> list[TrialRow]:
    """Run ``fields`` over ``payloads`` as apply would: per payload the canonical data and the
    reason it failed (None when it converted)."""
    if not payloads:
        return []
    compiled = compile_fields(list(fields), types)
    extract, outputs = select_sql(compiled)
    with ephemeral_duckdb(memory_limit) as conn:
        conn.register("batch", {"seq": np.arange(len(payloads), dtype=np.int64),
                                "payload": np.array([orjson.dumps(p).decode() for p in payloads], dtype=object)})
        rows = conn.execute(f"WITH src AS (SELECT seq, {extract} AS v FROM batch) "
                            f"SELECT CAST(data AS VARCHAR), error FROM (SELECT seq, {outputs} FROM src) ORDER BY seq"
                            ).fetchall()
    return [TrialRow(orjson.loads(data) if data else {}, error) for data, error in rows]


def agreement(rows: Sequence[TrialRow], expected: Sequence[dict[str, Any] | None], targets: Sequence[str]) -> float | None:
    """Share of records whose ``targets`` come out as ``expected`` (their canonical values before
    the change, None where unknown); a failed record disagrees. None: nothing to compare with."""
    compared = agreed = 0
    for row, before in zip(rows, expected, strict=True):
        if before is None:
            continue
        compared += 1
        if row.error is None and all(_same(row.data.get(t), before.get(t)) for t in targets):
            agreed += 1
    return agreed / compared if compared else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return a == b


def converts(rows: Sequence[TrialRow]) -> float:
    """Share of records that converted without a failure."""
    return sum(1 for r in rows if r.error is None) / len(rows) if rows else 0.0


def targets_of(fields: Sequence[dict], source: str) -> list[str]:
    """Canonical fields an entry reading ``source`` produces."""
    return [f["canonical_field"] for f in fields if f["source_field"] == source
            or any(source in s.get("with", []) for s in normalise_steps(f.get("transform")))]
