"""Memory: what people decided before, as signals for fields that look like it.

The stateful proposer (``services.matching``) embeds each source field with the shared text
recipe, looks up the tenant's nearest approved mapping examples (published pairs) and
rejected examples (a person's ``reject`` of a field's candidate) in the vector store and
resolves them through Postgres; this module turns those recollections into two matrices
(source fields x target fields): approved examples boost their target (``memory``),
rejected ones demote theirs (``rejected``). It holds no state and reads no store, so the
matcher stays a pure function of its inputs; with no recollections nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autonomos.dcl.matching.texts import source_field_text
from autonomos.dcl.matching.typing import SourceField, TargetField


@dataclass(frozen=True)
class Recollection:
    """An example close to a source field: the target a person chose (or rejected) for a field like it."""

    source_table: str
    source_field: str
    target_table: str
    target_field: str
    similarity: float
    example: str
    """The example's vector-store reference (``<mapping_versions.id>:<source field>``, or
    ``<mapping_proposals.id>:<source field>`` for a rejected one)."""
    rejected: bool = False
    """True for a rejected example: a person said ``target`` is wrong for the example's field."""
    example_system: str | None = None
    example_object: str | None = None
    example_field: str | None = None
    """Where the example's own field lives (source system, object or stream, field), from its Postgres row."""


@dataclass(frozen=True)
class MemoryWeights:
    """Below ``floor`` a neighbour says nothing; above it the boost grows to ``weight`` at similarity 1.

    Rejected examples work the same way with their own floor and weight, but scale the
    score down: at similarity 1 a rejected target keeps ``1 - rejection_weight`` of it.
    Their floor is higher than the boost's: a rejection speaks only for near-identical fields.
    """

    floor: float = 0.6
    weight: float = 0.6
    rejection_floor: float = 0.7
    rejection_weight: float = 0.9


def memory_text(field: SourceField) -> str:
    """What a field is looked up by: the examples' recipe (no type or description, which examples lack)."""
    return source_field_text(field.table, field.name)


def memory_matrix(
    sources: Sequence[SourceField], targets: Sequence[TargetField], recollections: Sequence[Recollection]
) -> np.ndarray:
    """Best similarity of an approved example pointing at each target, per source field (0 elsewhere).

    Examples naming a target field the current target schema lacks are ignored, and so are
    rejected examples (see ``rejection_matrix``).
    """
    return _best_similarity(sources, targets, [r for r in recollections if not r.rejected])


def rejection_matrix(
    sources: Sequence[SourceField], targets: Sequence[TargetField], recollections: Sequence[Recollection]
) -> np.ndarray:
    """Best similarity of a rejected example naming each target, per source field (0 elsewhere)."""
    return _best_similarity(sources, targets, [r for r in recollections if r.rejected])


def has_rejections(recollections: Sequence[Recollection] | None) -> bool:
    return any(r.rejected for r in recollections or ())


def _best_similarity(
    sources: Sequence[SourceField], targets: Sequence[TargetField], recollections: Sequence[Recollection]
) -> np.ndarray:
    rows = {(f.table, f.name): row for row, f in enumerate(sources)}
    columns = {(f.table, f.name): column for column, f in enumerate(targets)}
    matrix = np.zeros((len(sources), len(targets)), dtype=np.float32)
    for r in recollections:
        row, column = rows.get((r.source_table, r.source_field)), columns.get((r.target_table, r.target_field))
        if row is not None and column is not None:
            matrix[row, column] = max(matrix[row, column], np.float32(min(max(r.similarity, 0.0), 1.0)))
    return matrix


def remembered_scores(base: np.ndarray, memory: np.ndarray, weights: MemoryWeights) -> np.ndarray:
    """Raise each remembered pair toward 1 by how close its example is; other pairs keep their score."""
    strength = np.clip((memory - weights.floor) / (1.0 - weights.floor), 0.0, 1.0)
    return np.clip(base + weights.weight * strength * (1.0 - base), 0.0, 1.0).astype(np.float32)


def rejected_scores(base: np.ndarray, rejected: np.ndarray, weights: MemoryWeights) -> np.ndarray:
    """Scale each rejected pair down by how close its rejected example is; other pairs keep their score."""
    strength = np.clip((rejected - weights.rejection_floor) / (1.0 - weights.rejection_floor), 0.0, 1.0)
    return np.clip(base * (1.0 - weights.rejection_weight * strength), 0.0, 1.0).astype(np.float32)
