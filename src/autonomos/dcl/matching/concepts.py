"""Turn field and table names into weighted concept bags using the naming knowledge.

A concept is a synonym group id ("postal_code"), a time marker, or a plain word stem.
Comparing concept bags instead of strings makes "zip" meet "postal code" and
"CreatedDate" meet "created_at".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from autonomos.dcl.matching.knowledge import TIME_CONCEPT, Knowledge
from autonomos.dcl.matching.names import segment, split_identifier, stem, vocabulary_from

ConceptBag = dict[str, float]

TIME_WEIGHT = 0.5
NOISE_PREFIX_SHARE = 0.3
NOISE_PREFIX_MIN_FIELDS = 5


class ConceptAnalyzer:
    """Name -> words -> concepts, with a segmentation vocabulary fitted to the schemas at hand."""

    def __init__(self, knowledge: Knowledge, extra_words: Iterable[str] = ()) -> None:
        self.knowledge = knowledge
        self.vocabulary = vocabulary_from((*knowledge.words, *extra_words))
        self._max_phrase = knowledge.max_phrase_length
        self._words: dict[str, tuple[str, ...]] = {}

    def words(self, name: str) -> list[str]:
        """Readable words of a name: split, segmented, abbreviations expanded (once per name)."""
        known = self._words.get(name)
        if known is None:
            result: list[str] = []
            for word in split_identifier(name):
                pieces = [word] if word in self.knowledge.abbreviations else segment(word, self.vocabulary)
                for piece in pieces:
                    result.extend(self.knowledge.expand(piece))
            known = self._words[name] = tuple(result)
        return list(known)

    def stems(self, name: str) -> list[str]:
        """Stemmed words without stopwords."""
        stopwords = self.knowledge.stopwords
        return [stemmed for stemmed in (stem(word) for word in self.words(name)) if stemmed not in stopwords]

    def concepts(self, name: str, drop: frozenset[str] = frozenset()) -> ConceptBag:
        """Weighted concepts of a name; concepts in `drop` are removed unless nothing else is left."""
        found = self._match_phrases(self.stems(name), self.knowledge.phrases)
        kept = [concept for concept in found if concept not in drop] or found
        bag: ConceptBag = {}
        for concept in kept:
            bag[concept] = max(bag.get(concept, 0.0), self.weight(concept))
        return bag

    def weight(self, concept: str) -> float:
        """How much a concept says about a field's meaning."""
        if concept == TIME_CONCEPT:
            return TIME_WEIGHT
        return self.knowledge.weak_weights.get(concept, 1.0)

    def entity(self, table_name: str) -> str | None:
        """The entity kind a table name denotes ("companies" -> "account"), if the knowledge knows it."""
        matches = self._match_phrases(self.stems(table_name), self.knowledge.entity_phrases, keep_unknown=False)
        return matches[-1] if matches else None

    def context_concepts(self, table_name: str) -> frozenset[str]:
        """Concepts of a table's own name; they are redundant inside its field names ("deals.dealname").

        Only the table's own words count, not its entity's other names: "activity_type" in a
        "calls" table is a different thing from the call's type.
        """
        return frozenset(self._match_phrases(self.stems(table_name), self.knowledge.phrases))

    def _match_phrases(
        self, stems: Sequence[str], table: dict[tuple[str, ...], str], keep_unknown: bool = True
    ) -> list[str]:
        """Greedy longest-phrase matching over a stem sequence."""
        found: list[str] = []
        position = 0
        while position < len(stems):
            for length in range(min(self._max_phrase, len(stems) - position), 0, -1):
                concept = table.get(tuple(stems[position : position + length]))
                if concept is not None:
                    found.append(concept)
                    position += length
                    break
            else:
                word = stems[position]
                if keep_unknown:
                    found.append(TIME_CONCEPT if word in self.knowledge.time_markers else word)
                position += 1
        return found


def noise_prefixes(field_names: Sequence[str], analyzer: ConceptAnalyzer) -> frozenset[str]:
    """Leading words repeated across a table's fields (vendor prefixes like 'hs_', 'metadata.').

    A word that starts a large share of a table's field names tells nothing about any one field.
    """
    if len(field_names) < NOISE_PREFIX_MIN_FIELDS:
        return frozenset()
    firsts = Counter(stems[0] for stems in (analyzer.stems(name) for name in field_names) if len(stems) > 1)
    threshold = NOISE_PREFIX_SHARE * len(field_names)
    return frozenset(word for word, count in firsts.items() if count >= threshold)
