"""Per-signal similarity matrices (source fields x target fields), each in [0, 1].

Every signal is computed on its own so its value can be kept as evidence; combining
them is scoring.py's job. All signals are matrix operations so thousands of source
fields against a full ontology stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from autonomos.dcl.matching.concepts import ConceptBag
from autonomos.dcl.matching.embedders import Embedder, embedder_label
from autonomos.dcl.matching.values import MIN_DISTINCT_TERMS, ValueProfile, compatibility

FUZZY_MIN_LENGTH = 4
FUZZY_MIN_RATIO = 88.0
FUZZY_CREDIT = 0.8
PREFIX_MIN_LENGTH = 4
PREFIX_CREDIT = 0.7
PREFIX_MAX_SHARE = 0.6
CONTENT_WORD_WEIGHT = 1.0


def concept_relations(
    source_concepts: Sequence[str], target_concepts: Sequence[str], related: Mapping[tuple[str, str], float]
) -> np.ndarray:
    """Partial-credit matrix between concepts: 1 for equal, knowledge 'related' pairs, near-spellings.

    Near spellings (typos, truncations like 'employ' for 'employee') get partial credit so
    unseen abbreviations still count for something.
    """
    relation = np.zeros((len(source_concepts), len(target_concepts)), dtype=np.float32)
    target_index = {concept: column for column, concept in enumerate(target_concepts)}
    for row, concept in enumerate(source_concepts):
        column = target_index.get(concept)
        if column is not None:
            relation[row, column] = 1.0
    for (left, right), weight in related.items():
        row = _index_of(source_concepts, left)
        column = target_index.get(right)
        if row is not None and column is not None:
            relation[row, column] = max(relation[row, column], weight)
    _add_spelling_credit(relation, source_concepts, target_concepts)
    return relation


def _index_of(concepts: Sequence[str], concept: str) -> int | None:
    try:
        return concepts.index(concept)
    except ValueError:
        return None


def _add_spelling_credit(relation: np.ndarray, sources: Sequence[str], targets: Sequence[str]) -> None:
    source_rows = [row for row, word in enumerate(sources) if word.isalpha() and len(word) >= FUZZY_MIN_LENGTH]
    target_columns = [col for col, word in enumerate(targets) if word.isalpha() and len(word) >= FUZZY_MIN_LENGTH]
    if not source_rows or not target_columns:
        return
    ratios = process.cdist(
        [sources[row] for row in source_rows],
        [targets[col] for col in target_columns],
        scorer=fuzz.ratio,
        score_cutoff=FUZZY_MIN_RATIO,
        dtype=np.float32,
    )
    for i, j in zip(*np.nonzero(ratios)):
        row, column = source_rows[i], target_columns[j]
        relation[row, column] = max(relation[row, column], FUZZY_CREDIT)
    for row in source_rows:
        for column in target_columns:
            shorter, longer = sorted((sources[row], targets[column]), key=len)
            truncation = len(shorter) <= PREFIX_MAX_SHARE * len(longer)  # "desc", not "count" in "country"
            if truncation and len(shorter) >= PREFIX_MIN_LENGTH and longer.startswith(shorter):
                relation[row, column] = max(relation[row, column], PREFIX_CREDIT)


def name_similarity(
    source_bags: Sequence[ConceptBag], target_bags: Sequence[ConceptBag], related: Mapping[tuple[str, str], float]
) -> tuple[np.ndarray, np.ndarray]:
    """Soft weighted Dice between concept bags, plus how well each source content word is explained.

    Each side's weight counts as covered by its best-related concept on the other side; the
    similarity is covered weight over total weight, so extra unmatched words lower it. The
    second matrix is the worst coverage of any full-weight source concept: a name with one
    unexplained content word ("external_account_id" vs "account_id") is not a safe match.
    """
    source_vocab = sorted({concept for bag in source_bags for concept in bag})
    target_vocab = sorted({concept for bag in target_bags for concept in bag})
    relation = concept_relations(source_vocab, target_vocab, related)
    source_weights = _bag_matrix(source_bags, source_vocab)
    target_weights = _bag_matrix(target_bags, target_vocab)
    # best credit each source concept gets from each target field's concepts, and vice versa
    source_cover = np.stack([_best_cover(relation, target_weights[j] > 0) for j in range(len(target_bags))], axis=1)
    target_cover = np.stack([_best_cover(relation.T, source_weights[i] > 0) for i in range(len(source_bags))], axis=1)
    covered = source_weights @ source_cover + (target_weights @ target_cover).T
    totals = source_weights.sum(axis=1, keepdims=True) + target_weights.sum(axis=1)[None, :]
    similarity = np.clip(covered / np.where(totals == 0.0, 1.0, totals), 0.0, 1.0)
    explained = np.ones_like(similarity)
    for row in range(len(source_bags)):
        content = source_weights[row] >= CONTENT_WORD_WEIGHT
        if content.any():
            explained[row] = source_cover[content].min(axis=0)
    return similarity, explained


def _bag_matrix(bags: Sequence[ConceptBag], vocab: Sequence[str]) -> np.ndarray:
    index = {concept: column for column, concept in enumerate(vocab)}
    matrix = np.zeros((len(bags), len(vocab)), dtype=np.float32)
    for row, bag in enumerate(bags):
        for concept, weight in bag.items():
            matrix[row, index[concept]] = weight
    return matrix


def _best_cover(relation: np.ndarray, present: np.ndarray) -> np.ndarray:
    """For every row concept, the best relation to any present column concept."""
    if not present.any():
        return np.zeros(relation.shape[0], dtype=np.float32)
    return relation[:, present].max(axis=1)


EMBEDDING_CACHE_SIZE = 200_000
_embedding_cache: dict[tuple[str, str], np.ndarray] = {}


def embedded(texts: Sequence[str], embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of distinct texts, each embedded once per process and model.

    A worker matches many sources against one ontology: its texts (and table descriptions read
    again by later steps) are embedded the first time only. The embedder is deterministic, so a
    cached vector is the vector it would give again.
    """
    label = embedder_label(embedder)
    missing = [text for text in texts if (label, text) not in _embedding_cache]
    if missing:
        if len(_embedding_cache) + len(missing) > EMBEDDING_CACHE_SIZE:
            _embedding_cache.clear()
        for text, vector in zip(missing, embedder.embed(missing)):
            _embedding_cache[(label, text)] = vector
    return {text: _embedding_cache[(label, text)] for text in texts}


def meaning_similarity(source_texts: Sequence[str], target_texts: Sequence[str], embedder: Embedder) -> np.ndarray:
    """Cosine similarity of embedded texts (name words, description), clipped to [0, 1].

    Each distinct text is embedded once; similarities are rounded to 3 digits so float
    differences between machines' math libraries cannot change a ranking.
    """
    vectors = embedded(list(dict.fromkeys((*source_texts, *target_texts))), embedder)
    source_vectors = np.stack([vectors[text] for text in source_texts]) if source_texts else np.zeros((0, 1), np.float32)
    target_vectors = np.stack([vectors[text] for text in target_texts]) if target_texts else np.zeros((0, 1), np.float32)
    return np.round(np.clip(source_vectors @ target_vectors.T, 0.0, 1.0), 3).astype(np.float32)


def value_similarity(
    profiles: Sequence[ValueProfile], target_types: Sequence[str], target_kinds: Sequence[str]
) -> np.ndarray:
    """Value compatibility for every pair; computed once per distinct profile."""
    matrix = np.empty((len(profiles), len(target_types)), dtype=np.float32)
    rows_by_profile: dict[ValueProfile, list[int]] = {}
    for row, profile in enumerate(profiles):
        rows_by_profile.setdefault(profile, []).append(row)
    for profile, rows in rows_by_profile.items():
        matrix[rows, :] = [compatibility(profile, kind_type, kind) for kind_type, kind in zip(target_types, target_kinds)]
    return matrix


def listed_values_similarity(
    source_terms: Sequence[list[tuple[str, ...]]], target_described: Sequence[frozenset[str]]
) -> np.ndarray:
    """Share of each source field's sample values named in each target field's description
    (`mentioned_share` for every pair). Each word is looked up in every description once, as a
    row of booleans over the targets; a value's row is the AND of its words' rows."""
    matrix = np.zeros((len(source_terms), len(target_described)), dtype=np.float32)
    holders: dict[str, np.ndarray] = {}

    def holding(word: str) -> np.ndarray:
        row = holders.get(word)
        if row is None:
            row = holders[word] = np.fromiter((word in described for described in target_described), bool,
                                              len(target_described))
        return row

    for row, terms in enumerate(source_terms):
        if len(terms) < MIN_DISTINCT_TERMS:
            continue
        named = np.zeros(len(target_described), dtype=np.int64)
        for term in terms:
            hit = holding(term[0])
            for word in term[1:]:
                hit = hit & holding(word)
            named += hit
        matrix[row] = named / len(terms)
    return matrix
