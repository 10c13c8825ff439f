"""Keys and references: which source columns identify an entity, and which target fields refer to one.

A source key is an id-like column that recurs across tables (`customer_ref` in orders and in
invoices). The table that owns it is found from the schema itself: its description or the key's
description says each row is unique or defines the key, the key is its first column, or the key's
name is the table's name. Once that owner table is assigned a target entity, every occurrence of the
key refers to that entity, and maps to the target field that refers to the same entity in whichever
target table the occurrence's own table feeds. A key whose owner has no target entity refers to
something the target does not hold, and must not map to a look-alike automatically.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from autonomos.dcl.matching.names import split_identifier
from autonomos.dcl.matching.typing import SourceField, TargetField

ID_WORDS = frozenset({"id", "ids", "key", "uuid", "guid", "pk", "fk", "ref", "identifier", "no", "num", "number"})
OWNS = re.compile(r"\b(each row|primary key|defines each|identifies each|a unique identifier)\b", re.IGNORECASE)
UNIQUE = re.compile(r"\buniquely?\b", re.IGNORECASE)


@dataclass(frozen=True)
class SourceKey:
    """A recurring key column: its name, the tables holding it, and the table that owns it (or None)."""

    name: str
    tables: tuple[str, ...]
    owner: str | None


def _base(name: str) -> str:
    """Key name without its id word: 'ORDER_ID' -> 'order', 'custid' -> 'cust'."""
    words = split_identifier(name)
    if len(words) > 1 and words[-1] in ID_WORDS:
        words = words[:-1]
    joined = "".join(words)
    return joined[:-2] if len(words) == 1 and joined.endswith("id") and len(joined) > 3 else joined


def is_id_like(name: str) -> bool:
    """Id-like by name alone: last word an id word, or a run-together name ending in 'id'."""
    words = split_identifier(name)
    if not words:
        return False
    return words[-1] in ID_WORDS - {"no", "num", "number"} or (len(words) == 1 and words[0].endswith("id") and len(words[0]) > 3)


def _initials_match(base: str, table: str) -> bool:
    """'pl' names 'pricelists' when the table's letters follow in order from its first (p-rice l-ists)."""
    table = table.lower().replace("_", "")
    if len(base) < 2 or len(base) > 4:
        return False
    position = 0
    for letter in base:
        position = table.find(letter, position)
        if position < 0:
            return False
        position += 1
    return table.startswith(base[0])


def source_keys(sources: Sequence[SourceField]) -> dict[str, SourceKey]:
    """Recurring id-like columns by lower-case name, each with the owner table when one stands out."""
    by_name: dict[str, list[SourceField]] = {}
    for f in sources:
        if is_id_like(f.name):
            by_name.setdefault(f.name.lower(), []).append(f)
    first_field = {}
    for f in sources:
        first_field.setdefault(f.table, f.name.lower())
    keys: dict[str, SourceKey] = {}
    for name, fields in by_name.items():
        tables = tuple(dict.fromkeys(f.table for f in fields))
        if len(tables) < 2:
            continue
        # first everywhere says nothing about ownership (a per-table row id named alike, or a lead column)
        first_counts = sum(first_field[t] == name for t in tables) < len(tables)
        base = _base(name)
        scores = []
        unique_share = 1.0 / max(1, sum(bool(UNIQUE.search(f.description)) for f in fields))
        for f in fields:
            score = 0.0
            score += 1.0 if name in f.table_description.lower().replace(" ", "_") else 0.0
            score += 1.0 if OWNS.search(f.description) else unique_share if UNIQUE.search(f.description) else 0.0
            score += 0.75 if first_counts and first_field[f.table] == name else 0.0
            table = f.table.lower().replace("_", "")
            if len(base) >= 3 and base in table or _initials_match(base, table):
                score += 1.0
            scores.append((score, f.table))
        scores.sort(key=lambda pair: -pair[0])
        best, owner = scores[0]
        runner_up = scores[1][0] if len(scores) > 1 else 0.0
        keys[name] = SourceKey(name=name, tables=tables, owner=owner if best >= 1.0 and best - runner_up >= 0.5 else None)
    return keys


def target_references(targets: Sequence[TargetField]) -> dict[int, str]:
    """Target field index -> the target table it refers to (its own key included).

    A field refers to table T when its words end with T's words plus an id word
    ('person_id', 'billing_person_id'), or it is T's own 'id'.
    """
    tables = list(dict.fromkeys(t.table for t in targets))
    table_words = {table: split_identifier(table) for table in tables}
    references: dict[int, str] = {}
    for index, f in enumerate(targets):
        words = split_identifier(f.name)
        if not words or words[-1] not in ID_WORDS:
            continue
        if len(words) == 1:
            references[index] = f.table
            continue
        stem = words[:-1]
        best: str | None = None
        for table in tables:
            own = table_words[table]
            singular = own[:-1] + [own[-1].rstrip("s")] if own else own
            for form in (own, singular):
                if form and len(stem) >= len(form) and stem[-len(form):] == form:
                    if best is None or len(table_words[table]) > len(table_words[best]):
                        best = table
        if best is not None:
            references[index] = best
    return references


KEY_SCORE = 0.92
ELSEWHERE_SCORE = 0.8
ELSEWHERE_SPREAD = 0.1
"""How far a plausible other entity lifts its reference above ELSEWHERE_SCORE (never up to KEY_SCORE)."""


@dataclass(frozen=True)
class KeyLinks:
    """What the key structure says about each source field (by row)."""

    boosted: dict[tuple[int, int], float]
    """(source row, target column) -> score the key structure vouches for."""
    foreign: frozenset[int]
    """Rows holding a reference to an entity the target has none of: never `auto`."""
    related_entities: dict[str, frozenset[str]]
    """Source table -> target entities its keys refer to (the table may feed those too)."""


def _own_key(references: dict[int, str], targets: Sequence[TargetField], entity: str) -> int | None:
    own = [i for i, table in references.items() if table == entity and targets[i].table == entity]
    return min(own, key=lambda i: (len(targets[i].name), i)) if own else None


def _plain_reference(references: dict[int, str], targets: Sequence[TargetField], entity: str, table: str) -> list[int]:
    """Fields of `table` referring to `entity`, plainest first ('order_customer_id' before 'billing_customer_id' in orders)."""
    own_words = set(split_identifier(table))
    candidates = [i for i, ref in references.items() if ref == entity and targets[i].table == table]

    def extra(index: int) -> int:
        words = [w for w in split_identifier(targets[index].name) if w not in own_words]
        return len(words)

    return sorted(candidates, key=lambda i: (extra(i), i))


def key_links(
    sources: Sequence[SourceField],
    targets: Sequence[TargetField],
    entity_of_table: dict[str, str | None],
    entity_scores: dict[str, dict[str, float]] | None = None,
) -> KeyLinks:
    """Map every occurrence of an owned source key to the target's reference to the owner's entity.

    Outside the table's own entity, the references are ranked by how plausible each entity is for the
    occurrence's table (`entity_scores`), so the runners-up are the references of the likeliest tables.
    """
    entity_scores = entity_scores or {}
    keys = source_keys(sources)
    references = target_references(targets)
    boosted: dict[tuple[int, int], float] = {}
    foreign: set[int] = set()
    related: dict[str, set[str]] = {}
    for row, f in enumerate(sources):
        key = keys.get(f.name.lower())
        if key is None or key.owner is None:
            continue
        entity = entity_of_table.get(key.owner)
        own = _own_key(references, targets, entity) if entity else None
        if entity is None or own is None:
            if f.table != key.owner:
                foreign.add(row)
            continue
        if f.table == key.owner:
            boosted[(row, own)] = KEY_SCORE
            continue
        related.setdefault(f.table, set()).add(entity)
        home = entity_of_table.get(f.table)
        plausible = entity_scores.get(f.table, {})
        best = max(plausible.values(), default=0.0)
        for table in dict.fromkeys(t.table for t in targets):
            plain = _plain_reference(references, targets, entity, table)
            if plain:
                share = max(0.0, plausible.get(table, 0.0) / best) if best > 0 else 0.0
                boosted[(row, plain[0])] = KEY_SCORE if table == home else ELSEWHERE_SCORE + ELSEWHERE_SPREAD * share
    return KeyLinks(boosted, frozenset(foreign), {table: frozenset(e) for table, e in related.items()})


def hub_entities(targets: Sequence[TargetField], references: dict[int, str]) -> dict[str, int]:
    """Target tables other tables refer to, each with the index of its own key field."""
    referred = {table for index, table in references.items() if targets[index].table != table}
    hubs: dict[str, int] = {}
    for table in referred:
        own = _own_key(references, targets, table)
        if own is not None:
            hubs[table] = own
    return hubs


def reference_counts(targets: Sequence[TargetField], references: dict[int, str]) -> dict[str, int]:
    """How many target tables refer to each table."""
    counts: dict[str, set[str]] = {}
    for index, table in references.items():
        counts.setdefault(table, set()).add(targets[index].table)
    return {table: len(tables) for table, tables in counts.items()}
