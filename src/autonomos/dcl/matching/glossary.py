"""A tenant's glossary: its own abbreviations and jargon, read as the words they stand for.

An ontology (or a target schema file given to ``aos match``) may carry ``glossary: {term: meaning}``
(``uom: unit of measure``). The matcher reads a term in any field or table name as its meaning,
like the abbreviations it learns from the schemas, and before them: the tenant's word is the
authority. A term is one word of letters because names are compared word by word;
terms are kept in lower case, since names are compared without case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from autonomos.dcl.matching.exceptions import SchemaFormatError
from autonomos.dcl.matching.knowledge import Knowledge
from autonomos.dcl.matching.names import split_identifier

TERM = re.compile(r"^[A-Za-z]{1,32}$")
MAX_TERMS = 10_000
MAX_MEANING = 200
YAML_BOOLEANS = "unquoted yes, no, on, off, true and false are read by YAML as booleans: quote the term"


def normalise_glossary(raw: Any) -> dict[str, str]:
    """A checked glossary {term: meaning}, terms lower case and sorted; a clear error names the first problem."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SchemaFormatError(f"'glossary' must be a mapping of term to meaning (uom: unit of measure), "
                                f"not {type(raw).__name__}")
    if len(raw) > MAX_TERMS:
        raise SchemaFormatError(f"'glossary' has {len(raw)} terms, over the limit of {MAX_TERMS}")
    glossary: dict[str, str] = {}
    for term, meaning in raw.items():
        if isinstance(term, bool):
            raise SchemaFormatError(f"glossary term {term!r} is not text ({YAML_BOOLEANS})")
        if not isinstance(term, str) or not TERM.match(term):
            raise SchemaFormatError(f"glossary term {term!r} must be one word of letters "
                                    "(at most 32; names lose their digits before they are compared)")
        if not isinstance(meaning, str):
            raise SchemaFormatError(f"glossary term {term!r}: its meaning must be text, not {type(meaning).__name__}",
                                    term=term)
        words = " ".join(meaning.split())
        if not split_identifier(words):
            raise SchemaFormatError(f"glossary term {term!r}: its meaning is empty (say what the term stands for)",
                                    term=term)
        if len(words) > MAX_MEANING:
            raise SchemaFormatError(f"glossary term {term!r}: its meaning is {len(words)} characters, over the "
                                    f"limit of {MAX_MEANING} (a glossary says what a word stands for, not more)",
                                    term=term)
        key = term.lower()
        if key in glossary:
            raise SchemaFormatError(f"glossary term {key!r} appears twice (terms are compared without case)", term=key)
        if split_identifier(words) == [key]:
            raise SchemaFormatError(f"glossary term {term!r} means itself", term=term)
        glossary[key] = words
    return dict(sorted(glossary.items()))


def target_glossary(target: Mapping[str, Any]) -> dict[str, str]:
    """The checked glossary of a target schema or ontology document ({} when it has none)."""
    return normalise_glossary(target.get("glossary"))


def with_glossary(knowledge: Knowledge, target: Mapping[str, Any]) -> Knowledge:
    """``knowledge`` with the target's glossary terms as abbreviations (over the shipped ones) and known words."""
    glossary = target_glossary(target)
    if not glossary:
        return knowledge
    expansions = {term: tuple(split_identifier(meaning)) for term, meaning in glossary.items()}
    words = {word for expansion in expansions.values() for word in expansion}
    return replace(knowledge, abbreviations={**knowledge.abbreviations, **expansions},
                   words=knowledge.words | frozenset(expansions) | frozenset(words))
