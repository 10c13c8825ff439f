"""Which target entity each source table feeds, from keys, references and meaning.

Split from matcher.py: owner tables of recurring keys take the target entities other tables
refer to (one to one), other tables are re-ranked by the entities their keys share, table texts
are compared by meaning, and bare generic name matches are flagged for the auto gates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autonomos.dcl.matching.concepts import ConceptAnalyzer, ConceptBag
from autonomos.dcl.matching.embedders import Embedder
from autonomos.dcl.matching.keys import (
    SourceKey,
    hub_entities,
    reference_counts,
    source_keys,
    target_references,
)
from autonomos.dcl.matching.signals import embedded, meaning_similarity
from autonomos.dcl.matching.typing import EntityAssignment, SourceField, TargetField


def field_text(analyzer: ConceptAnalyzer, name: str, description: str) -> str:
    """What the sentence model reads for a field or table: its name's words, then its description."""
    return " ".join(analyzer.words(name)) + " . " + description


def owners_to_hubs(
    assignments: list[EntityAssignment],
    sources: Sequence[SourceField],
    targets: Sequence[TargetField],
    target_tables: Sequence[str],
    analyzer: ConceptAnalyzer,
    embedder: Embedder,
) -> list[EntityAssignment]:
    """Give each table that owns a recurring key the target entity other tables refer to, one to one.

    Evidence: the table's entity scores, the meaning of the key (name, description, owner table)
    against each entity's own key, and how widely each is referred to on its side.
    """
    keys = [key for key in source_keys(sources).values() if key.owner is not None]
    references = target_references(targets)
    hubs = hub_entities(targets, references)
    if not keys or not hubs:
        return assignments
    hub_names = sorted(hubs)
    by_table = {a.source_table: a for a in assignments}
    owner_text = {}
    for f in sources:
        for key in keys:
            if f.table == key.owner and f.name.lower() == key.name:
                owner_text[key.name] = field_text(analyzer, f.name, f.description) + " . " + field_text(analyzer, f.table, f.table_description)
    hub_text = [field_text(analyzer, targets[hubs[h]].name, targets[hubs[h]].description) + " . "
                + field_text(analyzer, h, targets[hubs[h]].table_description) for h in hub_names]
    meaning = meaning_similarity([owner_text[k.name] for k in keys], hub_text, embedder)
    counts = reference_counts(targets, references)
    pairs = []
    for row, key in enumerate(keys):
        scores = by_table[key.owner].scores
        for column, hub in enumerate(hub_names):
            spread = abs(np.log((len(key.tables) + 1) / (counts.get(hub, 0) + 1)))
            combined = 0.4 * min(1.0, scores.get(hub, 0.0)) + 0.4 * float(meaning[row, column]) + 0.2 * max(0.0, 1.0 - spread / 2)
            pairs.append((combined, key.owner, hub))
    chosen: dict[str, str] = {}
    for combined, owner, hub in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if combined >= HUB_MIN and owner not in chosen and hub not in chosen.values():
            chosen[owner] = hub
    owners = {key.owner for key in keys}
    # an owner no referred-to entity fits holds something the target lacks (a vendor's workspace)
    return _by_shared_references(
        [EntityAssignment(a.source_table, chosen[a.source_table], max(a.confidence, 0.5), a.scores)
         if a.source_table in chosen else EntityAssignment(a.source_table, None, 0.0, a.scores)
         if a.source_table in owners else a for a in assignments],
        sources, targets, references, keys, chosen,
    )


def _by_shared_references(
    assignments: list[EntityAssignment],
    sources: Sequence[SourceField],
    targets: Sequence[TargetField],
    references: dict[int, str],
    keys: Sequence[SourceKey],
    chosen: dict[str, str],
) -> list[EntityAssignment]:
    """Re-rank each other table's entities by how many of the entities its keys refer to they refer to too.

    An events table holding keys of a person, a visit and a provider belongs with a target
    table that refers to the same three, not with one that merely reads alike.
    """
    entity_of_key = {key.name: chosen[key.owner] for key in keys if key.owner in chosen}
    source_refs: dict[str, set[str]] = {}
    for f in sources:
        if f.name.lower() in entity_of_key:
            source_refs.setdefault(f.table, set()).add(entity_of_key[f.name.lower()])
    target_refs: dict[str, set[str]] = {}
    for index, table in references.items():
        target_refs.setdefault(targets[index].table, set()).add(table)
    result = []
    for a in assignments:
        refs = source_refs.get(a.source_table)
        if a.source_table in chosen or not refs or not a.scores:
            result.append(a)
            continue
        rescored = {t: score + SHARED_REFERENCE_WEIGHT * len(refs & target_refs.get(t, set())) / len(refs)
                    for t, score in a.scores.items()}
        best = min(rescored, key=lambda t: (-rescored[t], t))
        result.append(EntityAssignment(a.source_table, best, a.confidence, a.scores))
    return result


SHARED_REFERENCE_WEIGHT = 0.5
HUB_MIN = 0.35


GENERIC_CONCEPTS = frozenset({"identifier", "TIME", "type", "name", "code", "value", "number", "status",
                              "description", "body", "category", "label", "title", "key", "count"})
"""Domain-free words that say what shape a field has, not what it is about."""


def bare_generic(
    sources: Sequence[SourceField],
    source_bags: Sequence[ConceptBag],
    targets: Sequence[TargetField],
    target_bags: Sequence[ConceptBag],
    analyzer: ConceptAnalyzer,
) -> np.ndarray:
    """1 where a name match would rest on a bare generic word alone.

    That is: the source name says nothing but generic words ("ROWID" -> id) while the target
    lost a content word when its table's words were dropped ("invoice_id" in an invoice table).
    """
    generic_rows = np.array([bool(bag) and set(bag) <= GENERIC_CONCEPTS for bag in source_bags])
    lost = np.array([
        any(concept not in bag and concept not in GENERIC_CONCEPTS for concept in analyzer.concepts(f.name))
        for f, bag in zip(targets, target_bags)
    ])
    return (generic_rows[:, None] & lost[None, :]).astype(np.float32)


def table_meaning(
    sources: Sequence[SourceField],
    source_tables: Sequence[str],
    targets: Sequence[TargetField],
    target_tables: Sequence[str],
    analyzer: ConceptAnalyzer,
    embedder: Embedder,
    scale: tuple[float, float],
    centroid_share: float = 0.0,
) -> np.ndarray:
    """How close each source table's name and description are in meaning to each target table's.

    With `centroid_share` > 0 the mean meaning of each table's fields counts as well: a table whose
    own words are vague ("events") is still told apart by what its fields hold.
    """
    source_text = {f.table: f.table_description for f in sources}
    target_text = {f.table: f.table_description for f in targets}
    similarity = meaning_similarity(
        [field_text(analyzer, table, source_text.get(table, "")) for table in source_tables],
        [field_text(analyzer, table, target_text.get(table, "")) for table in target_tables],
        embedder,
    )
    if centroid_share > 0:
        similarity = (1 - centroid_share) * similarity + centroid_share * _centroid_similarity(
            sources, source_tables, targets, target_tables, analyzer, embedder)
    floor, margin = scale
    # relative to each source table's best: meaning separates entities by how much closer one is
    best = similarity.max(axis=1, keepdims=True)
    relative = np.clip(1.0 - (best - similarity) / margin, 0.0, 1.0)
    return np.where(best >= floor, relative, 0.0).astype(np.float32)


def _centroid_similarity(
    sources: Sequence[SourceField],
    source_tables: Sequence[str],
    targets: Sequence[TargetField],
    target_tables: Sequence[str],
    analyzer: ConceptAnalyzer,
    embedder: Embedder,
) -> np.ndarray:
    """Cosine between the mean field vectors of each source table and each target table."""

    def centroids(fields: Sequence[SourceField] | Sequence[TargetField], tables: Sequence[str]) -> np.ndarray:
        texts = [field_text(analyzer, f.name, f.description) for f in fields]
        vectors = embedded(texts, embedder)
        rows = []
        for table in tables:
            mean = np.mean([vectors[t] for f, t in zip(fields, texts) if f.table == table], axis=0)
            rows.append(mean / max(float(np.linalg.norm(mean)), 1e-9))
        return np.stack(rows)

    similarity = centroids(sources, source_tables) @ centroids(targets, target_tables).T
    return np.round(np.clip(similarity, 0.0, 1.0), 3).astype(np.float32)
