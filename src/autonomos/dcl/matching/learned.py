"""Abbreviations learned at match time from the schemas at hand, not from a list.

A short word in a source field's name whose letters are the initials of consecutive words in
that field's description, its table's description, or a target field's name ("uom" and "unit of
measure") is read as those words for this run. So is a short word that starts and is spelled
inside one longer word of the field's own description ("qty" in "quantity of items").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from autonomos.dcl.matching.names import split_identifier
from autonomos.dcl.matching.typing import SourceField, TargetField

MIN_LENGTH, MAX_LENGTH = 3, 5
MAX_CONTRACTION_SHARE = 0.6
SKIPPED = frozenset({"of", "the", "a", "an", "and", "in", "for", "to", "on", "by", "or"})


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z0-9]+", text.lower())]


def _initials(short: str, words: Sequence[str]) -> tuple[str, ...] | None:
    """Consecutive words (connectives skipped) whose first letters spell `short`."""
    for start in range(len(words)):
        picked: list[str] = []
        position = start
        while position < len(words) and len(picked) < len(short):
            word = words[position]
            position += 1
            if word[0] == short[len(picked)]:
                picked.append(word)
            elif not (word in SKIPPED and picked):
                break
        if len(picked) == len(short) and len(short) >= 2:
            return tuple(picked)
    return None


def _contraction(short: str, words: Iterable[str]) -> tuple[str, ...] | None:
    """One longer word that starts with the short word's letter and contains its letters in order."""
    if len(short) < 3:
        return None
    for word in words:
        if len(short) > MAX_CONTRACTION_SHARE * len(word) or word[:2] != short[:2]:
            continue
        position = 0
        for letter in short:
            position = word.find(letter, position)
            if position < 0:
                break
            position += 1
        else:
            return (word,)
    return None


def learn_abbreviations(
    sources: Sequence[SourceField], targets: Sequence[TargetField], known: frozenset[str]
) -> dict[str, tuple[str, ...]]:
    """Short unknown words of source names -> the words they stand for, learned from these schemas."""
    target_phrases = [split_identifier(f.name) for f in targets]
    learned: dict[str, tuple[str, ...]] = {}
    for f in sources:
        own = _words(f.description)
        context = own + ["."] + _words(f.table_description)
        for short in split_identifier(f.name):
            if not (MIN_LENGTH <= len(short) <= MAX_LENGTH and short.isalpha()) or short in known or short in learned:
                continue
            expansion = _initials(short, context) or _contraction(short, own)
            if expansion is None:
                for phrase in target_phrases:
                    expansion = _initials(short, phrase)
                    if expansion is not None:
                        break
            if expansion is not None and "".join(expansion) != short:
                learned[short] = expansion
    return learned
