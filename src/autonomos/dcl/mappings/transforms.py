"""Field mappings compiled to DuckDB SQL: one output expression and one failure check per field.

Source values start as text (``json_extract_string`` of the raw payload); each transform
step rewrites the expression and tracks its kind (text, number, timestamp, ...); a final
coercion turns it into the canonical field's type. Steps that can fail (casts, date and
epoch parsing, scaling) and the final coercion each contribute a check "input present,
output NULL", so a bad value fails *its record* with the field and the reason, and every
other record of the batch goes through. Literals are quoted here; nothing user-supplied is
ever spliced into SQL unquoted, and the DuckDB it runs in has external access disabled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autonomos.dcl.mappings.exceptions import TransformError
from autonomos.dcl.mappings.paths import split_path
from autonomos.dcl.mappings.typing import TRANSFORM_OPS, FieldMapping, TransformStep

Kind = str  # text | integer | number | boolean | date | timestamp

ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
ISO_MICROS = "%Y-%m-%dT%H:%M:%S.%fZ"
EPOCH_LIMIT = 100_000_000_000
"""Epoch seconds at or past this (year 5138) are taken for a value in a finer unit, not a date."""


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def json_path(source_field: str) -> str:
    """DuckDB JSON path of a (dotted, flattened) source field: ``a.b`` -> ``$."a"."b"``
    (``first\\.name`` is the one key ``first.name``; see ``paths``)."""
    parts = split_path(source_field)
    return "$" + "".join('."' + p.replace('"', '\\"') + '"' for p in parts)


def _literal(value: Any) -> tuple[str, Kind]:
    if isinstance(value, bool):
        return ("true" if value else "false"), "boolean"
    if isinstance(value, int):
        return f"{value}::BIGINT", "integer"
    if isinstance(value, float):
        return f"{value!r}::DOUBLE", "number"
    if value is None:
        return "NULL", "text"
    return quote(str(value)), "text"


@dataclass
class Compiled:
    """A mapping ready for DuckDB: source paths to extract, and per canonical field its SQL."""

    paths: list[str] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    """(canonical field, SQL expression of its JSON-ready value)."""
    checks: list[tuple[str, str]] = field(default_factory=list)
    """(SQL condition meaning "this record failed", SQL expression of the reason)."""

    def source(self, name: str) -> str:
        """Column reference of a source field's text value (``v[i]`` of the extracted list)."""
        if name not in self.paths:
            self.paths.append(name)
        return f"v[{self.paths.index(name) + 1}]"


def compile_fields(fields: Sequence[FieldMapping], types: dict[str, str]) -> Compiled:
    """Compile a version's fields against the canonical entity's field types."""
    out = Compiled()
    for spec in fields:
        target = spec["canonical_field"]
        if target not in types:
            raise TransformError("canonical field not in the entity", field=target)
        expr, kind = out.source(spec["source_field"]), "text"
        for step in normalise_steps(spec.get("transform")):
            expr, kind = _step(out, target, spec["source_field"], expr, kind, step)
        value, fallible = _coerce(expr, kind, types[target])
        if fallible:
            wanted = types[target] + (" in years 1 to 9999" if types[target] in ("date", "datetime") else "")
            out.checks.append((
                f"({expr}) IS NOT NULL AND ({value}) IS NULL",
                f"{quote(f'{target}: cannot convert ' + spec['source_field'] + ' value ')} || "
                f"{_shown(expr, kind)} || {quote(' to ' + wanted)}",
            ))
        out.outputs.append((target, value))
    return out


def normalise_steps(transform: Any) -> list[TransformStep]:
    """A transform is one step or a list of them; None is none."""
    if transform is None:
        return []
    steps = transform if isinstance(transform, list) else [transform]
    for step in steps:
        if not isinstance(step, dict) or step.get("op") not in TRANSFORM_OPS:
            raise TransformError(f"unknown transform step {step!r}; known ops: {', '.join(sorted(TRANSFORM_OPS))}")
    return steps


def _shown(expr: str, kind: Kind) -> str:
    text = expr if kind == "text" else f"CAST({expr} AS VARCHAR)"
    return f"'''' || left({text}, 80) || ''''"


def _fallible(out: Compiled, target: str, source: str, before: str, after: str, what: str) -> None:
    out.checks.append((f"({before}) IS NOT NULL AND ({after}) IS NULL",
                       f"{quote(f'{target}: cannot {what} ' + source + ' value ')} || {_shown(before, 'text')}"))


def _text(expr: str, kind: Kind) -> str:
    if kind == "timestamp":
        return f"strftime({expr}, CASE WHEN epoch_us({expr}) % 1000000 = 0 THEN '{ISO_SECONDS}' ELSE '{ISO_MICROS}' END)"
    if kind == "date":
        return f"strftime({expr}, '%Y-%m-%d')"
    return expr if kind == "text" else f"CAST({expr} AS VARCHAR)"


def _step(out: Compiled, target: str, source: str, expr: str, kind: Kind, step: TransformStep) -> tuple[str, Kind]:
    op = step["op"]
    try:
        if op in ("trim", "lower", "upper"):
            return f"{op}({_text(expr, kind)})", "text"
        if op == "cast":
            value, fallible = _coerce(expr, kind, step["to"])
            if fallible:
                _fallible(out, target, source, _text(expr, kind), value, f"cast to {step['to']} the")
            return value, _KIND_OF_TYPE[step["to"]]
        if op == "parse_date":
            text = _text(expr, kind)
            fmt = step.get("format")
            value = (f"try_strptime({text}, {quote(fmt)})" if fmt else f"TRY_CAST({text} AS TIMESTAMPTZ)")
            _fallible(out, target, source, text, value, f"parse as a date ({fmt or 'ISO 8601'}) the")
            return (f"CAST({value} AS TIMESTAMPTZ)" if fmt else value), "timestamp"
        if op == "epoch":
            divisor = {"s": 1, "ms": 1000}[step.get("unit", "s")]
            read = f"TRY_CAST({_text(expr, kind)} AS DOUBLE)"
            # Past year 5138 in the unit: milliseconds read as seconds (or micros as millis) fail
            # the record instead of becoming a date tens of thousands of years away.
            number = f"(CASE WHEN abs({read}) < {EPOCH_LIMIT * divisor:.0f} THEN {read} END)"
            value = f"to_timestamp({number} / {divisor})"
            _fallible(out, target, source, _text(expr, kind), number, f"read epoch {step.get('unit', 's')} from the")
            return value, "timestamp"
        if op == "scale":
            number = expr if kind in ("number", "integer") else f"TRY_CAST({_text(expr, kind)} AS DOUBLE)"
            if kind not in ("number", "integer"):
                _fallible(out, target, source, _text(expr, kind), number, "scale the non-numeric")
            # Rounded to 10 places so 995 * 0.01 is 9.95, not 9.950000000000001.
            return f"round({number} * {float(step['factor'])!r}, 10)", "number"
        if op == "map":
            # Mapped values are text; the final coercion gives them the canonical type.
            text = _text(expr, kind)
            cases = " ".join(f"WHEN {quote(str(k))} THEN {_map_value(v)}" for k, v in step["values"].items())
            otherwise = "NULL" if step.get("otherwise") == "null" else text
            return f"(CASE {text} {cases} ELSE {otherwise} END)", "text"
        if op == "concat":
            parts = [_text(expr, kind)] + [out.source(name) for name in step["with"]]
            joined = f"concat_ws({quote(step.get('separator', ' '))}, {', '.join(parts)})"
            return f"nullif({joined}, '')", "text"
        if op == "split":
            return _split(_text(expr, kind), step.get("separator", " "), step.get("part", 0)), "text"
        if op == "default":
            literal, literal_kind = _literal(step["value"])
            if literal_kind != kind:
                return f"coalesce({_text(expr, kind)}, {quote(str(step['value']))})", "text"
            return f"coalesce({expr}, {literal})", kind
    except KeyError as missing:
        raise TransformError(f"transform {op} needs {missing}", field=target) from None
    except (AttributeError, TypeError, ValueError):
        raise TransformError(f"transform {op} has a malformed argument: {json.dumps(step, default=str):.200}",
                             field=target) from None
    raise TransformError(f"transform {op} is not supported", field=target)


def _map_value(value: Any) -> str:
    if value is None:
        return "NULL"
    return quote(json.dumps(value) if isinstance(value, bool) else str(value))


def _split(text: str, separator: str, part: int | str) -> str:
    sep = quote(separator)
    trimmed = f"trim({text})"
    if part == "rest":
        return f"nullif(trim(substr({trimmed}, strpos({trimmed}, {sep}) + length({sep}))), {trimmed})"
    if not isinstance(part, int):
        raise TransformError(f"split part must be an index or 'rest', not {part!r}")
    pieces = f"string_split({trimmed}, {sep})"
    index = part + 1 if part >= 0 else f"len({pieces}) + {part + 1}"
    return f"nullif(list_extract({pieces}, {index}), '')"


_KIND_OF_TYPE = {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean", "date": "date",
                 "datetime": "timestamp", "object": "text", "array": "text", "unknown": "text"}

_INTEGER_TEXT = r"'[+-]?[0-9]+(\.0*)?'"


def _coerce(expr: str, kind: Kind, target: str) -> tuple[str, bool]:
    """(JSON-ready value of the canonical type, whether the conversion can fail)."""
    if target == "string" or target not in _KIND_OF_TYPE or _KIND_OF_TYPE[target] == "text":
        return _text(expr, kind), False
    if target == "integer":
        if kind == "integer":
            return expr, False
        if kind == "number":
            return f"(CASE WHEN {expr} = trunc({expr}) THEN CAST({expr} AS BIGINT) END)", True
        text = f"trim({_text(expr, kind)})"
        return (f"(CASE WHEN regexp_full_match({text}, {_INTEGER_TEXT}) "
                f"THEN TRY_CAST(split_part({text}, '.', 1) AS BIGINT) END)"), True
    if target == "number":
        if kind in ("number", "integer"):
            return f"CAST({expr} AS DOUBLE)", False
        return f"TRY_CAST(trim({_text(expr, kind)}) AS DOUBLE)", True
    if target == "boolean":
        if kind == "boolean":
            return expr, False
        return f"TRY_CAST(lower(trim({_text(expr, kind)})) AS BOOLEAN)", True
    # Dates and datetimes can always fail: DuckDB reads years 0, -1 or 10000, which ISO 8601 text,
    # JSON consumers and most languages' date types cannot hold, so such a value fails its record.
    if target == "date":
        if kind in ("date", "timestamp"):
            return _text(_within_years(f"CAST({expr} AS DATE)", "DATE"), "date"), True
        text = f"trim({_text(expr, kind)})"
        parsed = f"coalesce(TRY_CAST({text} AS DATE), CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS DATE))"
        return _text(_within_years(parsed, "DATE"), "date"), True
    # datetime
    if kind == "timestamp":
        return _text(_within_years(expr, "TIMESTAMPTZ"), "timestamp"), True
    if kind == "date":
        return _text(_within_years(f"CAST({expr} AS TIMESTAMPTZ)", "TIMESTAMPTZ"), "timestamp"), True
    parsed = f"TRY_CAST(trim({_text(expr, kind)}) AS TIMESTAMPTZ)"
    return _text(_within_years(parsed, "TIMESTAMPTZ"), "timestamp"), True


def _within_years(expr: str, type_: str) -> str:
    """``expr`` when it lies in years 1 to 9999, else NULL (compared with bounds: DuckDB's
    ``year()`` counts BC years upwards, so it cannot tell 1 BC from AD 1)."""
    return (f"(CASE WHEN ({expr}) >= {type_} '0001-01-01 00:00:00+00' "
            f"AND ({expr}) < {type_} '10000-01-01 00:00:00+00' THEN {expr} END)")


def select_sql(compiled: Compiled) -> tuple[str, str]:
    """(SQL of the extracted-values list over ``payload``, SQL of (data JSON, error)) for the batch query."""
    paths = "[" + ", ".join(quote(json_path(p)) for p in compiled.paths) + "]" if compiled.paths else "[]::VARCHAR[]"
    extract = f"json_extract_string(payload, {paths})" if compiled.paths else "[]::VARCHAR[]"
    pairs = ", ".join(f"{quote(name)}, {expr}" for name, expr in compiled.outputs)
    data = f"json_object({pairs})" if pairs else "'{}'"
    error = ("CASE " + " ".join(f"WHEN {cond} THEN {msg}" for cond, msg in compiled.checks) + " END"
             if compiled.checks else "NULL::VARCHAR")
    return extract, f"{data} AS data, {error} AS error"


def describe(spec: FieldMapping) -> str:
    """One line for people: ``Email -> email [trim, lower]``."""
    steps = normalise_steps(spec.get("transform"))
    shown = ", ".join(s["op"] if len(s) == 1 else f"{s['op']} {json.dumps({k: v for k, v in s.items() if k != 'op'})}"
                      for s in steps)
    return f"{spec['source_field']} -> {spec['canonical_field']}" + (f" [{shown}]" if shown else "")
