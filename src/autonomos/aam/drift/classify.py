"""Classify what changed in a stream between two snapshots, field by field.

Structure: added, removed, renamed (a removed and an added field judged the same from their
names and their values), type changed, nullability changed, key changed. Values, on mapped
fields only: a new picklist value, a format change (date style, epoch seconds vs millis,
decimal comma), a unit scale (x100, x1000) and a jump in null share. Each finding names its
severity and the rule that set it, with before, after and sample values.

``mapped`` is the set of source fields a mapping reads; ``None`` means the stream has no
mapping yet, so every field counts as one a mapping will read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autonomos.aam.drift.fingerprint import StreamShape

BREAKING, DEGRADING, INFORMATIONAL = "breaking", "degrading", "informational"
STRUCTURAL = ("field_added", "field_removed", "field_renamed", "type_changed", "nullability_changed", "key_changed")
VALUE = ("new_picklist_value", "format_changed", "unit_scale", "null_share_jump")

RENAME_THRESHOLD = 0.6
"""Combined name and value evidence at which a removed and an added field are one renamed field."""
PICKLIST_MAX = 20
NULL_JUMP = 0.2
_WIDENING = {("integer", "number"), ("date", "datetime")}


@dataclass(frozen=True)
class Finding:
    kind: str
    field: str
    severity: str
    rule: str
    before: Any = None
    after: Any = None
    samples: list[Any] = field(default_factory=list)
    confidence: float | None = None

    def details(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after, "samples": self.samples}


def classify(before: StreamShape, after: StreamShape, before_profile: dict[str, Any], after_profile: dict[str, Any],
             *, mapped: frozenset[str] | None = None,
             pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]] = ()) -> list[Finding]:
    """Every finding between two shapes and their profiles; ``pairs`` are (previous, current)
    payloads of the same record keys, the strongest evidence of a rename."""
    is_mapped = (lambda name: True) if mapped is None else (lambda name: name in mapped)
    old, new = before.by_name(), after.by_name()
    bp, ap = before_profile.get("fields", {}), after_profile.get("fields", {})
    findings: list[Finding] = []
    removed, added = sorted(set(old) - set(new)), sorted(set(new) - set(old))
    renames = _renames(removed, added, bp, ap, pairs)
    for (gone, came), score in renames.items():
        severity = BREAKING if is_mapped(gone) else INFORMATIONAL
        findings.append(Finding("field_renamed", gone, severity, "name_and_values", gone, came, _samples(ap.get(came)),
                                round(score, 3)))
    renamed_from, renamed_to = {g for g, _ in renames}, {c for _, c in renames}
    for name in removed:
        if name not in renamed_from:
            mapped_field = is_mapped(name)
            findings.append(Finding("field_removed", name, BREAKING if mapped_field else INFORMATIONAL,
                                    "mapped_field_removed" if mapped_field else "unmapped_field_removed",
                                    old[name].type, None, _samples(bp.get(name))))
    for name in added:
        if name not in renamed_to:
            findings.append(Finding("field_added", name, INFORMATIONAL, "new_field", None, new[name].type,
                                    _samples(ap.get(name))))
    for name in sorted(set(old) & set(new)):
        findings.extend(_same_field(name, old[name].type, new[name].type, old[name].nullable, new[name].nullable,
                                    bp.get(name), ap.get(name), is_mapped(name)))
    if before.key and tuple(before.key) != tuple(after.key):
        findings.append(Finding("key_changed", ",".join(after.key) or "(content)", BREAKING, "primary_key_changed",
                                list(before.key), list(after.key)))
    return findings


def _same_field(name: str, old_type: str, new_type: str, was_nullable: bool, is_nullable: bool,
                bp: dict | None, ap: dict | None, mapped: bool) -> list[Finding]:
    findings: list[Finding] = []
    values = _value_drift(name, bp, ap) if mapped and bp and ap and bp["count"] and ap["count"] else []
    restyled = any(f.kind == "format_changed" for f in values)
    if old_type != new_type and not restyled:
        severity = (DEGRADING if (old_type, new_type) in _WIDENING else BREAKING) if mapped else INFORMATIONAL
        findings.append(Finding("type_changed", name, severity, "widened" if (old_type, new_type) in _WIDENING
                                else "type_differs", old_type, new_type, _samples(ap)))
    if was_nullable != is_nullable:
        findings.append(Finding("nullability_changed", name, DEGRADING if mapped and is_nullable else INFORMATIONAL,
                                "became_nullable" if is_nullable else "became_required", was_nullable, is_nullable,
                                _samples(ap)))
    return findings + values


def _style(profile: dict[str, Any]) -> str | None:
    s = profile.get("styles", {})
    for name in ("iso_datetime", "iso_date", "epoch_millis", "epoch_seconds"):
        if s.get(name, 0) >= 0.9:
            return name
    if s.get("slash_date", 0) >= 0.9:
        if s.get("day_first") and not s.get("month_first"):
            return "slash_day_first"
        if s.get("month_first") and not s.get("day_first"):
            return "slash_month_first"
        return "slash_ambiguous"
    return None


def _value_drift(name: str, bp: dict[str, Any], ap: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    old_style, new_style = _style(bp), _style(ap)
    ambiguous = {old_style, new_style} & {"slash_ambiguous"} and {old_style, new_style} <= {
        "slash_ambiguous", "slash_day_first", "slash_month_first"}
    if old_style and new_style and old_style != new_style and not ambiguous:
        rule = "epoch_unit" if {old_style, new_style} == {"epoch_seconds", "epoch_millis"} else "date_style"
        findings.append(Finding("format_changed", name, BREAKING, rule, old_style, new_style, _samples(ap)))
    elif bp["styles"].get("decimal_comma", 0) < 0.1 and ap["styles"].get("decimal_comma", 0) >= 0.5:
        findings.append(Finding("format_changed", name, BREAKING, "decimal_comma", "decimal_point", "decimal_comma",
                                _samples(ap)))
    elif bp.get("median") and ap.get("median") and _numeric(bp) and _numeric(ap):
        ratio = ap["median"] / bp["median"]
        for scale in (100, 1000):
            if scale / 2 <= ratio <= scale * 2:
                findings.append(Finding("unit_scale", name, BREAKING, f"median_x{scale}", bp["median"], ap["median"],
                                        _samples(ap)))
                break
    known = {v for v, _ in bp.get("top", [])}
    if _picklist(bp):
        fresh = [v for v, _ in ap.get("top", []) if v not in known]
        if fresh:
            findings.append(Finding("new_picklist_value", name, DEGRADING, "closed_value_set", sorted(known),
                                    sorted(fresh), fresh[:5]))
    if ap["null_share"] - bp["null_share"] >= NULL_JUMP:
        findings.append(Finding("null_share_jump", name, DEGRADING, f"null_share_up_{int(NULL_JUMP * 100)}pts",
                                bp["null_share"], ap["null_share"], _samples(ap)))
    return findings


def _numeric(profile: dict[str, Any]) -> bool:
    """Numbers, or text that nearly always is one (a money column with the odd 'n/a')."""
    return profile["type"] in ("integer", "number") or profile["styles"].get("number_text", 0) >= 0.9


def _picklist(profile: dict[str, Any]) -> bool:
    """A small closed set of labels: few distinct values, each repeated, and not dates or numbers."""
    return (profile["type"] in ("string", "boolean") and 0 < profile["distinct"] <= PICKLIST_MAX
            and profile["count"] >= 2 * profile["distinct"] and _style(profile) is None
            and profile["styles"].get("number_text", 0) < 0.5)


def _renames(removed: list[str], added: list[str], bp: dict[str, Any], ap: dict[str, Any],
             pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> dict[tuple[str, str], float]:
    """Greedy best pairs of (removed, added) whose combined score reaches the threshold."""
    scored = []
    for gone in removed:
        for came in added:
            score = rename_score(gone, came, bp.get(gone), ap.get(came), pairs)
            if score >= RENAME_THRESHOLD:
                scored.append((score, gone, came))
    chosen: dict[tuple[str, str], float] = {}
    for score, gone, came in sorted(scored, reverse=True):
        if all(gone != g and came != c for g, c in chosen):
            chosen[(gone, came)] = score
    return chosen


def rename_score(gone: str, came: str, before: dict | None, after: dict | None,
                 pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> float:
    """Name similarity and value profile, and, where the same record keys were seen before and
    after, how often the removed field's value reappears under the added name."""
    name = name_similarity(gone, came)
    profile = profile_similarity(before, after)
    overlap = key_overlap(gone, came, pairs)
    if overlap is None:
        return 0.5 * name + 0.5 * profile if name >= 0.5 else 0.0
    if overlap < 0.8:
        return 0.0
    return 0.3 * name + 0.2 * profile + 0.5 * overlap


def name_similarity(a: str, b: str) -> float:
    x, y = (re.sub(r"[^a-z0-9]", "", s.lower()) for s in (a, b))
    if not x or not y:
        return 0.0
    ratio = difflib.SequenceMatcher(None, x, y).ratio()
    return max(ratio, 0.8) if (x in y or y in x) else ratio


def profile_similarity(before: dict | None, after: dict | None) -> float:
    if not before or not after:
        return 0.0
    score = 0.4 if before["type"] == after["type"] else 0.0
    styles = set(before.get("styles", {})) | set(after.get("styles", {}))
    if styles:
        score += 0.3 * (1 - sum(abs(before["styles"].get(s, 0) - after["styles"].get(s, 0)) for s in styles)
                        / len(styles))
    else:
        score += 0.3
    high, low = max(before["distinct"], after["distinct"], 1), min(before["distinct"], after["distinct"])
    return score + 0.3 * low / high


def key_overlap(gone: str, came: str, pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> float | None:
    """Share of records whose previous value of ``gone`` equals their current value of ``came``."""
    seen = same = 0
    for previous, current in pairs:
        if previous.get(gone) is not None and came in current:
            seen += 1
            same += previous[gone] == current[came]
    return same / seen if seen else None


def _samples(profile: dict | None) -> list[Any]:
    return [v for v, _ in (profile or {}).get("top", [])[:5]]
