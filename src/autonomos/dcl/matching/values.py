"""Value compatibility: what the samples look like versus what the target field expects.

Declared types are often loose (numbers shipped as strings, epoch integers for times),
so sample patterns refine them. The result is a score in [0, 1] where 0.5 means
"no information", higher means "values fit", lower means "values contradict".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from autonomos.dcl.matching.names import split_identifier, split_text, stem

NEUTRAL = 0.5
PATTERN_MAJORITY = 0.6

_EPOCH_LOW = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()
_EPOCH_HIGH = datetime(2050, 1, 1, tzinfo=timezone.utc).timestamp()

# Common ISO 4217 codes; three capital letters alone also match state codes and tickers.
CURRENCY_CODES = frozenset(
    "USD EUR GBP JPY CHF CAD AUD NZD CNY HKD SGD SEK NOK DKK PLN CZK HUF RON BGN INR BRL MXN ARS CLP COP PEN "
    "ZAR TRY ILS AED SAR QAR KWD EGP NGN KES RUB UAH KRW TWD THB MYR IDR PHP VND".split()
)

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)),
    ("url", re.compile(r"^(https?://|www\.)\S+$", re.I)),
    ("uuid", re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)),
    ("iso_datetime", re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")),
    ("iso_date", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
    ("phone", re.compile(r"^(\+\d[\d\s().-]{6,}|\(?\d{2,4}\)?[\s.-]\d{2,4}[\s.-]\d{2,5})$")),
    ("time_zone", re.compile(r"^(Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)/[A-Za-z_/+-]+$")),
    ("domain", re.compile(r"^(?!-)[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$", re.I)),
    ("id_like", re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{8,}$")),
    ("boolean", re.compile(r"^(true|false)$", re.I)),
    ("number", re.compile(r"^-?\d+(\.\d+)?$")),
)

# Patterns that name a specific kind of value; two different ones contradict each other.
SPECIFIC_KINDS = frozenset({"email", "url", "domain", "phone", "currency_code", "time_zone", "temporal", "id"})
KEY_KINDS = frozenset({"id", "reference"})
PATTERN_KIND = {
    "email": "email",
    "url": "url",
    "domain": "domain",
    "phone": "phone",
    "currency_code": "currency_code",
    "time_zone": "time_zone",
    "iso_datetime": "temporal",
    "iso_date": "temporal",
    "epoch": "temporal",
    "uuid": "id",
    "id_like": "id",
}

# What a target field expects, from its name concepts (first match wins).
KIND_BY_CONCEPT: tuple[tuple[str, str], ...] = (
    ("email", "email"),
    ("phone", "phone"),
    ("mobile", "phone"),
    ("fax", "phone"),
    ("website", "url"),
    ("url", "url"),
    ("domain", "domain"),
    ("currency", "currency_code"),
    ("time_zone", "time_zone"),
)

_TYPE_FIT: Mapping[tuple[str, str], float] = {
    ("integer", "number"): 0.75,
    ("number", "integer"): 0.7,
    ("date", "datetime"): 0.75,
    ("datetime", "date"): 0.75,
    ("integer", "string"): 0.5,
    ("number", "string"): 0.45,
    ("boolean", "string"): 0.25,
    ("date", "string"): 0.3,
    ("datetime", "string"): 0.3,
    ("boolean", "integer"): 0.3,
    ("boolean", "number"): 0.3,
    ("integer", "boolean"): 0.3,
    ("number", "boolean"): 0.3,
    ("integer", "datetime"): 0.3,
    ("integer", "date"): 0.3,
    ("number", "datetime"): 0.3,
    ("number", "date"): 0.3,
}


@dataclass(frozen=True)
class ValueProfile:
    """Declared type, dominant sample pattern (None when absent or mixed) and key role from the name."""

    declared: str
    pattern: str | None
    key_role: str | None = None


def key_role(concepts: Iterable[str]) -> str | None:
    """'id' for a record's own key (name is just "id"), 'reference' for "<thing> id", else None.

    A record's own key and a pointer to another record hold the same kind of value but never
    the same meaning, so the two must not match each other.
    """
    present = set(concepts)
    if "identifier" not in present:
        return None
    return "id" if present == {"identifier"} else "reference"


def sample_pattern(value: Any) -> str | None:
    """Classify one sample value; None for blanks."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (dict, list)):
        return "structured"
    if isinstance(value, (int, float)):
        return _number_pattern(float(value))
    text = str(value).strip()
    if text in CURRENCY_CODES:
        return "currency_code"
    for label, pattern in _PATTERNS:
        if pattern.match(text):
            return _number_pattern(float(text)) if label == "number" else label
    return "long_text" if len(text) > 40 and " " in text else "text"


def _number_pattern(number: float) -> str:
    """Integers in a plausible epoch range (2000..2050) read as timestamps."""
    if number.is_integer():
        if _EPOCH_LOW <= number <= _EPOCH_HIGH or _EPOCH_LOW * 1000 <= number <= _EPOCH_HIGH * 1000:
            return "epoch"
        return "integer"
    return "number"


def profile_values(declared: str, samples: Iterable[Any], role: str | None = None) -> ValueProfile:
    """Summarise samples into one pattern when a clear majority agrees."""
    labels = [label for label in (sample_pattern(value) for value in samples) if label is not None]
    if not labels:
        return ValueProfile(declared, None, role)
    label, count = Counter(labels).most_common(1)[0]
    return ValueProfile(declared, label if count >= PATTERN_MAJORITY * len(labels) else None, role)


def target_kind(field_type: str, concepts: Iterable[str]) -> str:
    """What kind of value a target field expects, from its type and name concepts."""
    if field_type in ("date", "datetime"):
        return "temporal"
    if field_type in ("boolean", "integer", "number", "object", "array"):
        return field_type
    present = set(concepts)
    role = key_role(present)
    if role is not None:
        return role
    for concept, kind in KIND_BY_CONCEPT:
        if concept in present:
            return kind
    return "text"


def compatibility(profile: ValueProfile, target_type: str, kind: str) -> float:
    """How well the source's values fit the target field, in [0, 1] (0.5 = no evidence)."""
    score = _declared_fit(profile.declared, target_type)
    if profile.key_role in KEY_KINDS and kind in KEY_KINDS and profile.key_role != kind:
        return min(score, 0.15)
    if kind in KEY_KINDS:
        if profile.declared in ("integer", "number", "string") and profile.key_role == kind:
            score = max(score, 0.8)
        kind = "id"
    pattern = profile.pattern
    if pattern is None:
        return score
    pattern_kind = PATTERN_KIND.get(pattern)
    if pattern_kind is not None and pattern_kind == kind:
        return max(score, 0.95)
    if pattern_kind in SPECIFIC_KINDS and kind in SPECIFIC_KINDS:
        return min(score, 0.1)
    if pattern == "epoch" and kind == "temporal":
        return max(score, 0.85)
    if pattern == "boolean":
        return 0.9 if kind == "boolean" else min(score, 0.25)
    if pattern == "structured":
        return 0.8 if kind in ("object", "array") else 0.1
    if kind in SPECIFIC_KINDS and pattern in ("text", "long_text"):
        return min(score, 0.3)
    if pattern in ("integer", "number", "epoch") and kind in ("integer", "number"):
        return max(score, 0.8)
    if pattern == "long_text" and kind == "text":
        return max(score, 0.6)
    return score


def _declared_fit(source_type: str, target_type: str) -> float:
    if "unknown" in (source_type, target_type):
        return NEUTRAL
    if source_type == target_type:
        return 0.8
    if source_type == "string":
        return NEUTRAL
    if source_type in ("object", "array") or target_type in ("object", "array"):
        return 0.15
    return _TYPE_FIT.get((source_type, target_type), 0.1)


MAX_TERM_WORDS = 3
MIN_DISTINCT_TERMS = 2


def sample_terms(samples: Iterable[Any]) -> list[tuple[str, ...]]:
    """Distinct short text samples as stemmed word tuples (picklist-like values)."""
    terms: dict[tuple[str, ...], None] = {}
    for value in samples:
        if not isinstance(value, str) or sample_pattern(value) != "text":
            continue
        words = tuple(stem(word) for word in split_identifier(value))
        if 0 < len(words) <= MAX_TERM_WORDS:
            terms[words] = None
    return list(terms)


def description_terms(description: str) -> frozenset[str]:
    """Stemmed words of a target description, for checking which sample values it lists."""
    return frozenset(stem(word) for word in split_text(description))


def mentioned_share(terms: list[tuple[str, ...]], described: frozenset[str]) -> float:
    """Share of sample values that the target's description names ("e.g. new, working, qualified").

    Descriptions often enumerate allowed values; samples drawn from that list are strong evidence.
    """
    if len(terms) < MIN_DISTINCT_TERMS or not described:
        return 0.0
    return sum(all(word in described for word in term) for term in terms) / len(terms)
