"""A stream's schema shape and its fingerprint.

The shape is what drift compares structurally: each field's name, type and nullability, and
the stream's key. Types come from discovery where the connector declares one and from the
values otherwise; nullability is what the records showed (and stays widened once seen, so a
run that landed only a few records cannot make a field look required). ``RECIPE`` names this
way of computing the fingerprint: snapshots of another recipe are never compared with it, so
changing the recipe starts a new baseline instead of reporting drift.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autonomos.aam.connectors.base import StreamSpec

RECIPE = "drift-1"


@dataclass(frozen=True)
class FieldShape:
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class StreamShape:
    fields: tuple[FieldShape, ...]
    key: tuple[str, ...]

    def by_name(self) -> dict[str, FieldShape]:
        return {f.name: f for f in self.fields}

    def to_json(self) -> dict[str, Any]:
        return {"fields": [{"name": f.name, "type": f.type, "nullable": f.nullable} for f in self.fields],
                "key": list(self.key)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | list) -> StreamShape:
        if isinstance(data, list):  # a snapshot of the field-list recipe: names and types only
            return cls(tuple(FieldShape(f["name"], f["type"], True) for f in data), ())
        return cls(tuple(FieldShape(f["name"], f["type"], bool(f["nullable"])) for f in data["fields"]),
                   tuple(data.get("key", ())))

    def fingerprint(self) -> str:
        body = {"recipe": RECIPE, "key": list(self.key),
                "fields": sorted([f.name, f.type, f.nullable] for f in self.fields)}
        return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


def shape_of(spec: StreamSpec | None, profile: dict[str, Any], previous: StreamShape | None = None,
             previous_records: int = 0) -> StreamShape:
    """The shape from discovery and the profile of the records seen in the run.

    Without declared fields, a run that saw fewer records than the previous profile cannot
    prove a field gone, so the previous fields it did not see are kept.
    """
    observed: dict[str, dict[str, Any]] = profile["fields"]
    declared = {f.name: f.type for f in spec.fields} if spec and spec.fields else {}
    names: set[str] = set(declared) | set(observed) if declared else set(observed)
    before = previous.by_name() if previous else {}
    if not declared and previous and profile["records"] < previous_records:
        names |= set(before)
    fields = []
    for name in sorted(names):
        stats = observed.get(name)
        declared_type = declared.get(name, "unknown")
        if declared_type != "unknown":
            type_ = declared_type
        elif stats and stats["type"] != "unknown":
            type_ = stats["type"]
        else:
            type_ = before[name].type if name in before else "unknown"
        nullable = stats is None or stats["null_share"] > 0 or (name in before and before[name].nullable)
        fields.append(FieldShape(name, type_, nullable))
    key: Sequence[str] = spec.primary_key if spec else (previous.key if previous else ())
    return StreamShape(tuple(fields), tuple(key))
