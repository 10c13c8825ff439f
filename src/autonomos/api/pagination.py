"""Opaque cursors: a base64url JSON of the last position served; lists answer
``{"items": [...], "next_cursor": <cursor or null at the end>}``."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from autonomos.api.problems import ApiProblem

MAX_LIMIT = 1000
T = TypeVar("T")


def encode(position: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode(cursor: str | None) -> Any:
    if cursor is None:
        return None
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise _invalid() from None


def page_of(items: Sequence[T], key: Callable[[T], Any], cursor: str | None, limit: int) -> dict[str, Any]:
    """A page of a small, fully loaded collection in ``key`` order (connections, versions...)."""
    after = decode(cursor)
    ordered = sorted(items, key=key)
    if after is not None:
        after = tuple(after) if isinstance(after, list) else after
        try:
            ordered = [i for i in ordered if _comparable(key(i)) > after]
        except TypeError:  # a cursor of another shape: not one this list issued
            raise _invalid() from None
    chunk = ordered[:limit]
    more = len(ordered) > limit
    return {"items": chunk, "next_cursor": encode(_comparable(key(chunk[-1]))) if more and chunk else None}


def _comparable(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _invalid() -> ApiProblem:
    return ApiProblem(422, "the cursor is not one this server issued", kind="validation",
                      errors=[{"field": "query.cursor", "message": "invalid cursor", "type": "cursor"}])


def keyset_page(rows: Sequence[T], limit: int, position: Callable[[T], Any]) -> dict[str, Any]:
    """A page of ``rows`` fetched with ``limit + 1`` (the extra row only says there is more)."""
    chunk = list(rows[:limit])
    more = len(rows) > limit
    return {"items": chunk, "next_cursor": encode(position(chunk[-1])) if more and chunk else None}


def pair(cursor: str | None) -> tuple[str, str] | None:
    """A (timestamp, uuid) cursor, checked, as the services take it."""
    after = decode(cursor)
    if after is None:
        return None
    try:
        when, ident = after
        dt.datetime.fromisoformat(when)
        uuid.UUID(ident)
    except (TypeError, ValueError):
        raise _invalid() from None
    return str(when), str(ident)


def number(cursor: str | None) -> int | None:
    """An integer-id cursor, checked."""
    after = decode(cursor)
    if after is None:
        return None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**63:
        raise _invalid()
    return after


def keyed(cursor: str | None, parts: int) -> tuple[str, ...] | None:
    """A cursor of ``parts`` strings, a timestamp first and a uuid last (newest-first lists
    ordered by more than time and id), checked, as the services take it."""
    after = decode(cursor)
    if after is None:
        return None
    try:
        if not isinstance(after, list) or len(after) != parts or not all(isinstance(a, str) for a in after):
            raise ValueError
        dt.datetime.fromisoformat(after[0])
        uuid.UUID(after[-1])
    except ValueError:
        raise _invalid() from None
    return tuple(after)
