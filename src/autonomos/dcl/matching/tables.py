"""Table-level context: decide which target entity each source table holds.

A table is judged jointly from its name (entity synonyms: "companies" is an account)
and from its fields (how many of them find a strong match inside each entity), so an
oddly named table still lands on the right entity when its fields agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autonomos.dcl.matching.typing import EntityAssignment

STRONG_FIELD_MATCH = 0.6
SPECIFICITY_FLOOR = 0.5
"""Weight of a strong match on a field every target table has (a field one table has weighs 1)."""


@dataclass(frozen=True)
class TableContextWeights:
    """How name and field evidence are blended into an entity score."""

    name: float = 0.55
    fields: float = 0.45
    soft: float = 0.3
    """Weight of how well the table's fields fit each entity on average (all fields, not only strong ones)."""
    soft_margin: float = 0.1
    field_share: float = 0.35
    """Strong field evidence counts in full only once it covers this share of the table's fields:
    one strong look-alike (a code column) in a table of many says little about the whole table."""


def assign_entities(
    source_tables: Sequence[str],
    source_table_of_field: np.ndarray,
    target_tables: Sequence[str],
    target_table_of_field: np.ndarray,
    table_name_match: np.ndarray,
    field_scores: np.ndarray,
    foreign_tables: frozenset[str] = frozenset(),
    weights: TableContextWeights = TableContextWeights(),
    specificity: np.ndarray | None = None,
) -> list[EntityAssignment]:
    """Score every (source table, target table) pair and pick the best target per source table.

    `table_name_match` is (source tables x target tables) in [0, 1]; `field_scores` is the
    context-free field score matrix (source fields x target fields). `foreign_tables` are source
    tables whose name denotes a kind of entity the target does not have (e.g. products): they
    get no entity, however well their generic fields (id, name) match. `specificity` (one weight
    per target field, `field_specificity`) scales each strong field match by how much the matched
    target field says about its table: a reference recurring in most tables says little.
    """
    if specificity is None:
        specificity = np.ones(field_scores.shape[1], dtype=np.float32)
    assignments: list[EntityAssignment] = []
    for s_index, source_table in enumerate(source_tables):
        if source_table in foreign_tables:
            assignments.append(EntityAssignment(source_table=source_table, entity=None, confidence=0.0))
            continue
        rows = field_scores[source_table_of_field == s_index]
        evidence = np.zeros(len(target_tables), dtype=np.float32)
        for t_index in range(len(target_tables)):
            columns = target_table_of_field == t_index
            block = rows[:, columns]
            if block.size:
                best = block.max(axis=1)
                weight = specificity[columns][block.argmax(axis=1)]
                evidence[t_index] = float(np.sum((best * weight)[best >= STRONG_FIELD_MATCH]))
        scale = max(float(evidence.max()), weights.field_share * STRONG_FIELD_MATCH * len(rows))
        relative = evidence / scale if scale > 0 else evidence
        soft = np.array([rows[:, target_table_of_field == t].max(axis=1).mean() if rows.size else 0.0
                         for t in range(len(target_tables))], dtype=np.float32)
        soft = np.clip(1.0 - (soft.max() - soft) / weights.soft_margin, 0.0, 1.0) if soft.max() > 0 else soft
        combined = weights.name * table_name_match[s_index] + weights.fields * relative + weights.soft * soft
        order = np.argsort(-combined, kind="stable")
        best_index = int(order[0])
        scores = {target_tables[t]: round(float(combined[t]), 4) for t in order}
        assignments.append(
            EntityAssignment(
                source_table=source_table,
                entity=target_tables[best_index] if combined[best_index] > 0 else None,
                confidence=float(combined[best_index]),
                scores=scores,
            )
        )
    return assignments


def field_specificity(target_bags: Sequence[dict[str, float]], target_table_of_field: np.ndarray) -> np.ndarray:
    """How much each target field says about which table a source field belongs to (an IDF over tables).

    Fields are compared by their concepts with their own table's words dropped, so `person_id` in
    ten tables, or every table's own `id`, is one recurring field. The weight is log(tables / tables
    holding it) over log(tables) (1 for a field only one table has, 0 for one every table has), raised
    to SPECIFICITY_FLOOR at least: a recurring field still says the table is of the right kind.
    """
    tables = int(target_table_of_field.max()) + 1 if len(target_table_of_field) else 0
    if tables < 2:
        return np.ones(len(target_bags), dtype=np.float32)
    holders: dict[tuple[str, ...], set[int]] = {}
    keys = [tuple(sorted(bag)) for bag in target_bags]
    for key, table in zip(keys, target_table_of_field):
        holders.setdefault(key, set()).add(int(table))
    idf = np.array([np.log(tables / len(holders[key])) / np.log(tables) for key in keys], dtype=np.float32)
    return SPECIFICITY_FLOOR + (1.0 - SPECIFICITY_FLOOR) * idf


def context_factors(
    assignments: Sequence[EntityAssignment], target_tables: Sequence[str], off_entity: float, floor: float
) -> np.ndarray:
    """(source tables x target tables) multipliers: 1 for the assigned entity, lower elsewhere.

    Other entities keep `off_entity` scaled by how close their entity score came, never below `floor`.
    """
    factors = np.full((len(assignments), len(target_tables)), floor, dtype=np.float32)
    for row, assignment in enumerate(assignments):
        best = assignment.confidence
        if assignment.entity is None:
            continue
        for column, table in enumerate(target_tables):
            if table == assignment.entity:
                factors[row, column] = 1.0
            elif best > 0:
                relative = assignment.scores.get(table, 0.0) / best
                factors[row, column] = max(floor, off_entity * relative)
    return factors
