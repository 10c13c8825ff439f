"""Load the hand-curated naming knowledge (knowledge/vocabulary.yaml) into lookup tables.

Entries are normalised with the same splitting and stemming as field names, so the data
file can be written in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from autonomos.dcl.matching.exceptions import KnowledgeError
from autonomos.dcl.matching.names import split_identifier, stem

TIME_CONCEPT = "TIME"
_DATA_FILE = "vocabulary.yaml"


@dataclass(frozen=True)
class Knowledge:
    """Normalised vocabulary: abbreviations, stopwords, concept phrases, entity names."""

    abbreviations: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]
    weak_weights: dict[str, float]
    time_markers: frozenset[str]
    phrases: dict[tuple[str, ...], str]
    related: dict[tuple[str, str], float]
    entity_phrases: dict[tuple[str, ...], str]
    words: frozenset[str]

    @property
    def max_phrase_length(self) -> int:
        """Longest phrase (in words) so phrase matching knows how far to look ahead."""
        return max((len(key) for key in (*self.phrases, *self.entity_phrases)), default=1)

    def expand(self, word: str) -> tuple[str, ...]:
        """Replace a known abbreviation by its words."""
        return self.abbreviations.get(word, (word,))

    def normalise(self, text: str) -> tuple[str, ...]:
        """Words -> expanded, stemmed words without stopwords (how phrases are compared)."""
        stems: list[str] = []
        for word in split_identifier(text):
            for expanded in self.expand(word):
                stemmed = stem(expanded)
                if stemmed not in self.stopwords:
                    stems.append(stemmed)
        return tuple(stems)


def _group_id(first_entry: str) -> str:
    return "_".join(split_identifier(first_entry))


def _phrase_table(groups: dict[str, list[str]], build: Knowledge, kind: str) -> dict[tuple[str, ...], str]:
    table: dict[tuple[str, ...], str] = {}
    for concept, entries in groups.items():
        for entry in entries:
            key = build.normalise(entry)
            if not key:
                continue
            if table.get(key, concept) != concept:
                raise KnowledgeError(f"{kind} phrase {entry!r} belongs to both {table[key]!r} and {concept!r}")
            table[key] = concept
    return table


def build_knowledge(data: dict[str, Any]) -> Knowledge:
    """Normalise raw YAML data into a Knowledge object."""
    abbreviations = {key.lower(): tuple(split_identifier(value)) for key, value in data["abbreviations"].items()}
    bare = Knowledge(
        abbreviations=abbreviations,
        stopwords=frozenset(stem(word) for word in data["stopwords"]),
        weak_weights={},
        time_markers=frozenset(),
        phrases={},
        related={},
        entity_phrases={},
        words=frozenset(),
    )
    concept_groups = {_group_id(group[0]): group for group in data["concepts"]}
    phrases = _phrase_table(concept_groups, bare, "concept")
    entity_phrases = _phrase_table(data["entities"], bare, "entity")
    related: dict[tuple[str, str], float] = {}
    for left, right, weight in data["related"]:
        left_id = phrases.get(bare.normalise(left), "_".join(bare.normalise(left)))
        right_id = phrases.get(bare.normalise(right), "_".join(bare.normalise(right)))
        related[(left_id, right_id)] = related[(right_id, left_id)] = float(weight)
    words: set[str] = set(data["segmentation_words"]) | set(abbreviations) | set(data["stopwords"])
    for group in (*data["concepts"], *data["entities"].values()):
        for entry in group:
            words.update(split_identifier(entry))
    for expansion in abbreviations.values():
        words.update(expansion)
    return Knowledge(
        abbreviations=abbreviations,
        stopwords=bare.stopwords,
        weak_weights={stem(word): float(weight) for word, weight in data["weak_words"].items()},
        time_markers=frozenset(stem(word) for word in data["time_markers"]),
        phrases=phrases,
        related=related,
        entity_phrases=entity_phrases,
        words=frozenset(word.lower() for word in words),
    )


@lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    """The packaged general vocabulary (parsed once per process)."""
    text = resources.files("autonomos.dcl.matching").joinpath("knowledge").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return build_knowledge(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))  # C parser: 0.2 s less
