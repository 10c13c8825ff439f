"""Field names that differ only by invisible or look-alike characters (``еmail`` with a Cyrillic
``е``, ``email\\u200b`` with a zero-width space): a person cannot tell them apart in a review,
so they are flagged there and a mapping version that maps one of them is refused by name.

A name's *skeleton* is its NFKC form without format characters (zero-width spaces and joiners,
soft hyphens, byte-order marks) and with common Cyrillic and Greek look-alikes replaced by the
Latin letter they resemble; two different names with one skeleton are confusable.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ɡ": "g",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "ο": "o", "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "ι": "i", "κ": "k",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Υ": "Y", "Χ": "X",
})


def skeleton(name: str) -> str:
    text = unicodedata.normalize("NFKC", name)
    return "".join(c for c in text if unicodedata.category(c) != "Cf").translate(_LOOKALIKES)


def odd_characters(name: str) -> str:
    """The characters that make ``name`` differ from its skeleton, e.g. ``U+0435 CYRILLIC SMALL
    LETTER IE at 1``; empty when there are none."""
    odd = [f"U+{ord(c):04X} {unicodedata.name(c, 'UNNAMED')} at {i}" for i, c in enumerate(name)
           if unicodedata.category(c) == "Cf" or c.translate(_LOOKALIKES) != c]
    return ", ".join(odd)


def confusable_twins(names: Iterable[str]) -> dict[str, list[str]]:
    """Each name that shares its skeleton with another name -> those other names."""
    groups: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):
        groups.setdefault(skeleton(name), []).append(name)
    return {name: [other for other in group if other != name]
            for group in groups.values() if len(group) > 1 for name in group}


def describe_twin(name: str, twins: list[str]) -> str:
    odd = odd_characters(name)
    return (f"{name!r} looks like {', '.join(map(repr, twins))}"
            + (f" but holds {odd}" if odd else " (the other name holds invisible or look-alike characters)"))
