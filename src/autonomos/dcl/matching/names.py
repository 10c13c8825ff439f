"""Pure text handling for identifiers: splitting, stemming and word segmentation.

Field names arrive as camelCase, snake_case, dotted paths or run-together lowercase
("numberofemployees"); everything downstream compares words, so this module turns
names into comparable words without any schema knowledge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_LETTERS_DIGITS = re.compile(r"[A-Za-z]+|[0-9]+")

MIN_SEGMENTABLE_LENGTH = 6
MIN_PIECE_LENGTH = 2
SHORT_PIECES = frozenset({"id", "of", "to", "by", "on", "at", "is", "in", "no"})


def split_identifier(name: str) -> list[str]:
    """Split a field or table name into lowercase words; digits are dropped.

    Digits are dropped because they mostly number variants (address2, Pricebook2Id)
    rather than change meaning.
    """
    return list(_split_identifier(name))


@lru_cache(maxsize=65536)
def _split_identifier(name: str) -> tuple[str, ...]:
    """split_identifier, once per distinct name: a match splits each name many times."""
    words: list[str] = []
    for chunk in _NON_ALNUM.split(name):
        for part in _CAMEL_BOUNDARY.split(chunk):
            words.extend(piece.lower() for piece in _LETTERS_DIGITS.findall(part) if not piece.isdigit())
    return tuple(words)


def split_text(text: str) -> list[str]:
    """Split free text (descriptions) into lowercase words."""
    return [word.lower() for word in re.findall(r"[A-Za-z]+", text)]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Crude suffix folding so created/create/creating and company/companies compare equal.

    Consistency matters more than linguistic accuracy: both schemas go through the same rules.
    """
    w = word.lower()
    if w == "ids":
        return "id"
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith(("xes", "ches", "shes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
    elif w.endswith("ied") and len(w) >= 5:
        w = w[:-3] + "y"
    elif w.endswith("ed") and len(w) >= 5:
        w = w[:-2]
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    if w.endswith("y") and len(w) > 3:
        w = w[:-1] + "i"
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    return w


def segment(word: str, vocabulary: frozenset[str]) -> list[str]:
    """Split a run-together word ("closedate") into known words, or return it unchanged.

    Chooses the split with the fewest pieces, then the most even-long pieces; a word that
    is itself known, or cannot be fully covered by known pieces, stays whole.
    """
    if len(word) < MIN_SEGMENTABLE_LENGTH or _known(word, vocabulary):
        return [word]
    best: list[tuple[int, int, list[str]] | None] = [None] * (len(word) + 1)
    best[0] = (0, 0, [])
    for end in range(MIN_PIECE_LENGTH, len(word) + 1):
        for start in range(0, end - MIN_PIECE_LENGTH + 1):
            previous = best[start]
            piece = word[start:end]
            if previous is None or not _known(piece, vocabulary):
                continue
            option = (previous[0] + 1, previous[1] - len(piece) ** 2, previous[2] + [piece])
            current = best[end]
            if current is None or option[:2] < current[:2]:
                best[end] = option
    result = best[len(word)]
    return result[2] if result is not None and result[0] >= 2 else [word]


def _known(piece: str, vocabulary: frozenset[str]) -> bool:
    if len(piece) <= MIN_PIECE_LENGTH:
        return piece in SHORT_PIECES
    return piece in vocabulary


def vocabulary_from(words: Iterable[str]) -> frozenset[str]:
    """Known words plus their regular inflections, for segmentation.

    Inflections rather than stems: stems ("ship" from "shipping") would let real words
    such as "ownership" be cut into wrong pieces.
    """
    known: set[str] = set()
    for word in words:
        lowered = word.lower()
        if not lowered.isalpha():
            continue
        known.update((lowered, lowered + "s", lowered + "es", lowered + "ed"))
        if lowered.endswith("e"):
            known.add(lowered + "d")
        if lowered.endswith("y"):
            known.update((lowered[:-1] + "ies", lowered[:-1] + "ied"))
    return frozenset(known)
