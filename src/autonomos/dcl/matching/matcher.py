"""Public entry points: propose mappings from a source schema to a canonical target schema.

Stateless and offline: schemas in, proposals out; the same input always gives the same output.
`propose` returns rich FieldProposal objects with per-signal evidence; `match_schemas`
renders them into the benchmark JSON shape (FORMAT.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autonomos.dcl.matching.calibration import Ranked, Thresholds, conflict_losers, decide
from autonomos.dcl.matching.concepts import ConceptAnalyzer, ConceptBag, noise_prefixes
from autonomos.dcl.matching.embedders import DEFAULT_EMBEDDER, Embedder, embedder_label, get_embedder
from autonomos.dcl.matching.entities import bare_generic, field_text, owners_to_hubs, table_meaning
from autonomos.dcl.matching.glossary import with_glossary
from autonomos.dcl.matching.keys import key_links
from autonomos.dcl.matching.knowledge import Knowledge, default_knowledge
from autonomos.dcl.matching.learned import learn_abbreviations
from autonomos.dcl.matching.probability import shipped_calibration
from autonomos.dcl.matching.memory import (
    MemoryWeights,
    Recollection,
    has_rejections,
    memory_matrix,
    rejected_scores,
    rejection_matrix,
    remembered_scores,
)
from autonomos.dcl.matching.names import split_identifier, split_text
from autonomos.dcl.matching.schema_files import source_fields, system_name, target_fields
from autonomos.dcl.matching.scoring import SignalWeights, contextual_scores, field_scores
from autonomos.dcl.matching.signals import (
    listed_values_similarity,
    meaning_similarity,
    name_similarity,
    value_similarity,
)
from autonomos.dcl.matching.tables import TableContextWeights, assign_entities, context_factors, field_specificity
from autonomos.dcl.matching.typing import Candidate, FieldProposal, SourceField, TargetField
from autonomos.dcl.matching.values import description_terms, key_role, profile_values, sample_terms, target_kind

SCORE_DIGITS = 4
DECISION_DEPTH = 2
NAMED_ENTITY = 0.8
"""A table's name match with an entity from this value on means its name denotes that entity."""


@dataclass(frozen=True)
class MatcherConfig:
    """Every tunable of one matching run, with defaults."""

    weights: SignalWeights = field(default_factory=SignalWeights)
    context: TableContextWeights = field(default_factory=TableContextWeights)
    thresholds: Thresholds = field(default_factory=Thresholds)
    off_entity: float = 0.75
    off_entity_floor: float = 0.5
    embedder: str = DEFAULT_EMBEDDER
    related_entity: float = 0.9
    """Context factor for entities a table's keys refer to: an orders table may also feed its customer."""
    table_meaning: tuple[float, float] = (0.3, 0.15)
    """Table texts' meaning counts when the best cosine reaches the first value; 1 for the best, 0 for
    tables the second value below it."""
    memory: MemoryWeights = field(default_factory=MemoryWeights)
    table_centroid: float = 0.5
    """Share of the tables' mean field meaning in their meaning match (the rest: table name and description)."""


def match_schemas(
    source: dict[str, Any],
    target: dict[str, Any],
    top_k: int = 5,
    thresholds: Thresholds | None = None,
    embedder: str = DEFAULT_EMBEDDER,
) -> dict[str, Any]:
    """Match a source schema to a target schema and return the FORMAT.md output document."""
    config = MatcherConfig(thresholds=thresholds or Thresholds(), embedder=embedder)
    document = render(propose(source, target, top_k=top_k, config=config))
    return {"embedder": embedder_label(get_embedder(embedder)), **document}


def render(proposals: Sequence[FieldProposal]) -> dict[str, Any]:
    """FieldProposals -> {"mappings": [...]} as FORMAT.md describes, each candidate with its calibrated estimate."""
    calibration = shipped_calibration()
    return {
        "mappings": [
            {
                "source_table": proposal.source_table,
                "source_field": proposal.source_field,
                "candidates": [
                    {"target_table": c.target_table, "target_field": c.target_field, "score": c.score,
                     "estimate": calibration.estimate(c.score), "estimate_lower": calibration.lower_bound(c.score)}
                    for c in proposal.candidates
                ],
                "decision": proposal.decision,
            }
            for proposal in proposals
        ]
    }


def propose(
    source: dict[str, Any],
    target: dict[str, Any],
    top_k: int = 5,
    config: MatcherConfig | None = None,
    embedder: Embedder | None = None,
    knowledge: Knowledge | None = None,
    memory: Sequence[Recollection] | None = None,
) -> list[FieldProposal]:
    """Rank target fields for every source field and decide a tier for each.

    ``memory`` (approved examples near each field, found by the stateful proposer) adds the
    `memory` signal; rejected examples among them add the `rejected` signal and demote their
    target. Without it the result is exactly the stateless matcher's.
    """
    config = config or MatcherConfig()
    sources = source_fields(source)
    targets = target_fields(target)
    if not sources:
        return []
    if not targets:
        return [FieldProposal(f.table, f.name, (), "reject", ("target schema has no fields",)) for f in sources]
    knowledge = with_glossary(knowledge or default_knowledge(), target)
    schema_words = _schema_words(source, target, sources, targets)
    learned = learn_abbreviations(sources, targets, knowledge.words | frozenset(w.lower() for w in schema_words))
    if learned:
        knowledge = replace(knowledge, abbreviations={**learned, **knowledge.abbreviations})
    analyzer = ConceptAnalyzer(knowledge, [*schema_words, *learned])
    source_tables = _unique(f.table for f in sources)
    target_tables = _unique(f.table for f in targets)

    source_bags = _source_bags(sources, source_tables, analyzer, system_name(source))
    target_bags = _target_bags(targets, target_tables, analyzer)
    related = analyzer.knowledge.related
    name, explained = name_similarity(source_bags, target_bags, related)
    embedder = embedder or get_embedder(config.embedder)
    meaning = meaning_similarity(
        [_text(analyzer, f.name, f.description) for f in sources],
        [_text(analyzer, f.name, f.description) for f in targets],
        embedder,
    )
    kinds = [target_kind(f.type, bag) for f, bag in zip(targets, target_bags)]
    profiles = [profile_values(f.type, f.samples, key_role(bag)) for f, bag in zip(sources, source_bags)]
    value = value_similarity(profiles, [f.type for f in targets], kinds)
    listed = listed_values_similarity(
        [sample_terms(f.samples) for f in sources], [description_terms(f.description) for f in targets]
    )
    base = field_scores(name, meaning, value, listed, config.weights)
    remembered = memory_matrix(sources, targets, memory) if memory is not None else None
    if remembered is not None:
        base = remembered_scores(base, remembered, config.memory)
    rejected = rejection_matrix(sources, targets, memory) if has_rejections(memory) else None
    if rejected is not None:
        base = rejected_scores(base, rejected, config.memory)

    source_table_of_field = np.array([source_tables.index(f.table) for f in sources])
    target_table_of_field = np.array([target_tables.index(f.table) for f in targets])
    assignments = assign_entities(
        source_tables,
        source_table_of_field,
        target_tables,
        target_table_of_field,
        np.maximum(
            named := _table_name_match(source_tables, target_tables, analyzer),
            table_meaning(sources, source_tables, targets, target_tables, analyzer, embedder, config.table_meaning,
                          config.table_centroid),
        ),
        base,
        _foreign_tables(source_tables, target_tables, analyzer),
        config.context,
        field_specificity(target_bags, target_table_of_field),
    )
    assignments = owners_to_hubs(assignments, sources, targets, target_tables, analyzer, embedder)
    assignments = [replace(a, named=a.entity is not None and bool(named[row, target_tables.index(a.entity)] >= NAMED_ENTITY))
                   for row, a in enumerate(assignments)]
    links = key_links(sources, targets, {a.source_table: a.entity for a in assignments},
                      {a.source_table: a.scores for a in assignments})
    factors = context_factors(assignments, target_tables, config.off_entity, config.off_entity_floor)
    for row, table in enumerate(source_tables):
        for entity in links.related_entities.get(table, ()):
            column = target_tables.index(entity)
            factors[row, column] = max(factors[row, column], config.related_entity)
    field_factors = factors[source_table_of_field][:, target_table_of_field]
    final = contextual_scores(base, field_factors)
    keyed = np.zeros_like(final)
    for (row, column), vouched in links.boosted.items():
        keyed[row, column] = vouched
        final[row, column] = max(final[row, column], vouched * max(field_factors[row, column], config.related_entity))

    bare = bare_generic(sources, source_bags, targets, target_bags, analyzer)
    signals = {
        "bare_generic": bare,
        "name": name,
        "name_explained": explained,
        "meaning": meaning,
        "value": value,
        "listed_values": listed,
        "context": field_factors,
        "key": keyed,
    }
    if remembered is not None:
        signals["memory"] = remembered
    if rejected is not None:
        signals["rejected"] = rejected
    # decisions look at the runner-up, so rank at least two whatever top_k the caller wants
    rounded = np.round(final.astype(np.float64), SCORE_DIGITS)
    # best first, ties by target order (a stable sort of the negated scores)
    orders = np.argsort(-rounded, axis=1, kind="stable")[:, : max(top_k, DECISION_DEPTH)]
    rankings = [
        Ranked(
            source_table=f.table,
            source_field=f.name,
            candidates=_top_candidates(row, rounded[row], orders[row], targets, signals),
            assignment=assignments[source_table_of_field[row]],
        )
        for row, f in enumerate(sources)
    ]
    return _decide_all(rankings, config.thresholds, top_k, links.foreign)


def _decide_all(
    rankings: Sequence[Ranked], thresholds: Thresholds, top_k: int, foreign: frozenset[int] = frozenset()
) -> list[FieldProposal]:
    """Tier every field (one-to-one conflicts included) and cut candidates to top_k."""
    losers = conflict_losers(rankings)
    proposals: list[FieldProposal] = []
    for index, ranked in enumerate(rankings):
        decision, reasons = decide(ranked, thresholds, index in losers)
        if index in foreign and decision == "auto":
            decision, reasons = "review", ("refers to an entity the target has no table for",)
        proposals.append(
            FieldProposal(
                source_table=ranked.source_table,
                source_field=ranked.source_field,
                candidates=ranked.candidates[: max(top_k, 0)],
                decision=decision,
                reasons=reasons,
                entity=ranked.assignment.entity,
            )
        )
    return proposals


def _top_candidates(
    row: int, rounded: np.ndarray, order: np.ndarray, targets: Sequence[TargetField], signals: dict[str, np.ndarray]
) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(
            target_table=targets[column].table,
            target_field=targets[column].name,
            score=float(rounded[column]),
            signals={key: round(float(matrix[row, column]), SCORE_DIGITS) for key, matrix in signals.items()},
        )
        for column in order
    )


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


def _schema_words(
    source: dict[str, Any], target: dict[str, Any], sources: Sequence[SourceField], targets: Sequence[TargetField]
) -> list[str]:
    """Words the target and the system names use, so run-together names split into them.

    Source field words are left out on purpose: a run-together name would then count as known.
    """
    words = split_identifier(system_name(source)) + split_identifier(system_name(target))
    for f in targets:
        words += split_identifier(f.name) + split_identifier(f.table) + split_text(f.description)
    return words


def _source_bags(
    sources: Sequence[SourceField], tables: Sequence[str], analyzer: ConceptAnalyzer, system: str
) -> list[ConceptBag]:
    """Concept bags with table-name words, repeated prefixes and the system's own name dropped."""
    system_words = frozenset(analyzer.stems(system))
    drops: dict[str, frozenset[str]] = {}
    for table in tables:
        names = [f.name for f in sources if f.table == table]
        drops[table] = analyzer.context_concepts(table) | noise_prefixes(names, analyzer) | system_words
    return [analyzer.concepts(f.name, drops[f.table]) for f in sources]


def _target_bags(targets: Sequence[TargetField], tables: Sequence[str], analyzer: ConceptAnalyzer) -> list[ConceptBag]:
    drops = {table: analyzer.context_concepts(table) for table in tables}
    return [analyzer.concepts(f.name, drops[f.table]) for f in targets]


def _text(analyzer: ConceptAnalyzer, name: str, description: str) -> str:
    return field_text(analyzer, name, description)


def _table_name_match(source_tables: Sequence[str], target_tables: Sequence[str], analyzer: ConceptAnalyzer) -> np.ndarray:
    """1 when both table names denote the same entity kind, else their name similarity."""
    source_bags = [analyzer.concepts(table) for table in source_tables]
    target_bags = [analyzer.concepts(table) for table in target_tables]
    match, _ = name_similarity(source_bags, target_bags, analyzer.knowledge.related)
    source_entities = [analyzer.entity(table) for table in source_tables]
    target_entities = [analyzer.entity(table) for table in target_tables]
    # a kind that several target tables share ("note", "event" both an activity) tells them apart from nothing
    shared = {kind for kind in target_entities if kind is not None and target_entities.count(kind) > 1}
    target_entities = [None if kind in shared else kind for kind in target_entities]
    for row, source_entity in enumerate(source_entities):
        for column, target_entity in enumerate(target_entities):
            if source_entity is not None and source_entity == target_entity:
                match[row, column] = 1.0
    return match


def _foreign_tables(source_tables: Sequence[str], target_tables: Sequence[str], analyzer: ConceptAnalyzer) -> frozenset[str]:
    """Source tables naming a known kind of entity that no target table is."""
    target_entities = {analyzer.entity(table) for table in target_tables}
    return frozenset(
        table
        for table in source_tables
        if (entity := analyzer.entity(table)) is not None and entity not in target_entities
    )
