"""Opaque cursors: a base64url JSON of the last position served; lists answer
``{"items": [...], "next_cursor": <cursor or null at the end>}``."""

from __future__ import annotations

import base64
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
        raise ApiProblem(422, "the cursor is not one this server issued", kind="validation",
                         errors=[{"field": "query.cursor", "message": "invalid cursor", "type": "cursor"}]) from None


def page_of(items: Sequence[T], key: Callable[[T], Any], cursor: str | None, limit: int) -> dict[str, Any]:
    """A page of a small, fully loaded collection in ``key`` order (connections, versions...)."""
    after = decode(cursor)
    ordered = sorted(items, key=key)
    if after is not None:
        after = tuple(after) if isinstance(after, list) else after
        ordered = [i for i in ordered if _comparable(key(i)) > after]
    chunk = ordered[:limit]
    more = len(ordered) > limit
    return {"items": chunk, "next_cursor": encode(_comparable(key(chunk[-1]))) if more and chunk else None}


def _comparable(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, tuple)) else value
