"""Memory: what people approved before, as a signal for fields that look like it.

The stateful proposer (``services.matching``) embeds each source field with the shared text
recipe, looks up the tenant's nearest approved mapping examples in the vector store and
resolves them through Postgres; this module turns those recollections into one more matrix
(source fields x target fields) and a boost. It holds no state and reads no store, so the
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
    """An approved example close to a source field: the target a person chose for a field like it."""

    source_table: str
    source_field: str
    target_table: str
    target_field: str
    similarity: float
    example: str
    """The example's vector-store reference (``<mapping_versions.id>:<source field>``)."""


@dataclass(frozen=True)
class MemoryWeights:
    """Below ``floor`` a neighbour says nothing; above it the boost grows to ``weight`` at similarity 1."""

    floor: float = 0.6
    weight: float = 0.6


def memory_text(field: SourceField) -> str:
    """What a field is looked up by: the examples' recipe (no type or description, which examples lack)."""
    return source_field_text(field.table, field.name)


def memory_matrix(
    sources: Sequence[SourceField], targets: Sequence[TargetField], recollections: Sequence[Recollection]
) -> np.ndarray:
    """Best similarity of an approved example pointing at each target, per source field (0 elsewhere).

    Examples naming a target field the current target schema lacks are ignored.
    """
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
