"""Vocabulary of mappings: the stored field-mapping shape, transform steps, review words.

A mapping version's ``fields`` is a list of ``FieldMapping`` objects; ``source_field`` and
``canonical_field`` are read by other code (the vector store's mapping examples), so the
names are fixed. Each entry produces exactly one canonical field; splitting a source field
into several is several entries over the same source field (``split`` parts).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, get_args

TransformOp = Literal["trim", "lower", "upper", "cast", "parse_date", "epoch", "scale", "map", "concat", "split",
                      "default"]
TRANSFORM_OPS: frozenset[str] = frozenset(get_args(TransformOp))

ProposalStatus = Literal["open", "accepted", "rejected", "superseded"]
ReviewAction = Literal["approve", "reject", "edit", "accept-auto"]

CanonicalType = Literal["string", "integer", "number", "boolean", "date", "datetime"]
CANONICAL_TYPES: frozenset[str] = frozenset(get_args(CanonicalType))
"""Types apply coerces to; other ontology types (object, array, unknown) are kept as text."""


class TransformStep(TypedDict, total=False):
    """One step; which keys matter depends on ``op``:

    cast ``to``; parse_date ``format`` (strptime, optional); epoch ``unit`` (``s``/``ms``);
    scale ``factor``; map ``values`` and ``otherwise`` (``keep``/``null``); concat ``with``
    (more source fields) and ``separator``; split ``separator`` and ``part`` (index, negative
    from the end, or ``rest``: all after the first separator); default ``value``.
    """

    op: TransformOp
    to: str
    format: str
    unit: str
    factor: float
    values: dict[str, Any]
    otherwise: str
    separator: str
    part: int | str
    value: Any


class FieldMapping(TypedDict):
    source_field: str
    canonical_field: str
    transform: NotRequired[list[TransformStep]]
