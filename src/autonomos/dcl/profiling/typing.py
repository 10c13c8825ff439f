"""The profiler's vocabulary: value patterns and the stored profile shapes.

A profile is what ``schema_snapshots.profile`` holds: per field (a dotted path for nested
JSON), its inferred type, null share, distinct count, min/max, length range, top values
and the share of values matching each detected pattern.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, get_args

PatternName = Literal[
    "email", "url", "phone", "iso_date", "iso_datetime", "epoch_seconds", "epoch_millis", "currency_code", "uuid",
    "id_like",
]
PATTERNS: tuple[str, ...] = get_args(PatternName)

InferredType = Literal["string", "integer", "number", "boolean", "date", "datetime", "object", "array", "unknown"]


class TopValue(TypedDict):
    value: str
    count: int


class FieldProfile(TypedDict):
    path: str
    type: InferredType
    count: int
    null_share: float
    distinct: int
    min: Any
    max: Any
    min_length: int | None
    max_length: int | None
    top_values: list[TopValue]
    patterns: dict[str, float]


class Profile(TypedDict):
    records: int
    fields: list[FieldProfile]
