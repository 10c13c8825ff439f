"""The one text recipe for a source field, shared by everything that embeds one.

The vector outbox embeds source fields and approved mapping examples with it, and the
matcher's memory embeds the fields it looks up with it, so a field and the example a person
approved for a field spelled like it land close together. Names are embedded as their split
words, so ``CUST_NM`` in ``CUST_MASTER`` and ``CustNm`` in ``CustMaster`` are the same text:
a rename that only changes case or separators is no rename for memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from autonomos.dcl.matching.names import split_identifier


def source_field_text(
    table: str, name: str, type_: str | None = None, patterns: Sequence[str] = (), description: str = ""
) -> str:
    """``table words . name words (type)`` plus detected patterns and a description when known."""
    text = " ".join(split_identifier(table)) + " . " + " ".join(split_identifier(name)) + (f" ({type_})" if type_ else "")
    if patterns:
        text += f" looks like {', '.join(patterns)}"
    return text + (f" . {description}" if description else "")
