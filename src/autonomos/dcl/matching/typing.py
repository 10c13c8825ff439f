"""Vocabulary of the matcher: the records it reads and the proposals it returns.

Kept free of logic so every module (and callers) can share one set of names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DecisionTier = Literal["auto", "review", "reject"]
FIELD_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "date", "datetime", "object", "array", "unknown")


@dataclass(frozen=True)
class SourceField:
    """One field of a source system's table, as read from a schema file."""

    table: str
    name: str
    type: str = "unknown"
    description: str = ""
    samples: tuple[Any, ...] = ()
    table_description: str = ""


@dataclass(frozen=True)
class TargetField:
    """One field of a canonical entity (target table)."""

    table: str
    name: str
    type: str = "unknown"
    description: str = ""
    table_description: str = ""


@dataclass(frozen=True)
class Candidate:
    """A ranked target for a source field, with the per-signal evidence behind its score."""

    target_table: str
    target_field: str
    score: float
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldProposal:
    """What the matcher proposes for one source field: ranked candidates and a decision tier."""

    source_table: str
    source_field: str
    candidates: tuple[Candidate, ...]
    decision: DecisionTier
    reasons: tuple[str, ...] = ()
    entity: str | None = None

    @property
    def best(self) -> Candidate | None:
        """The first candidate, if any."""
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class EntityAssignment:
    """Which target entity a source table most likely holds, and how sure we are."""

    source_table: str
    entity: str | None
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    named: bool = False
    """The table's own name denotes the entity (not only its fields or meaning)."""
