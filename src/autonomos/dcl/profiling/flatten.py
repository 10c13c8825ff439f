"""Nested JSON flattened to dotted paths (``address.city``) so nested fields can be matched.

Objects are descended into; arrays are leaves (their elements are rows of another shape,
which a stream of their own describes better); an empty object is a leaf. Each leaf comes
out as (path, kind, text): the JSON kind (s, i, f, b, o, a; None for null) and the text
DuckDB aggregates. This is the profiler's hot loop, hence the explicit stack and type checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any


def leaves(record: Mapping[str, Any]) -> Iterator[tuple[str, str | None, str | None]]:
    stack: list[tuple[str, Mapping[str, Any]]] = [("", record)]
    while stack:
        prefix, obj = stack.pop()
        for key, value in obj.items():
            if "." in key or "\\" in key:  # a dot inside a key is escaped (mappings.paths)
                key = key.replace("\\", "\\\\").replace(".", "\\.")
            path = prefix + key if prefix else key
            kind = type(value)
            if kind is str:
                yield path, "s", value
            elif value is None:
                yield path, None, None
            elif kind is bool:
                yield path, "b", "true" if value else "false"
            elif kind is int:
                yield path, "i", str(value)
            elif kind is float:
                yield path, "f", repr(value)
            elif kind is dict:
                if value:
                    stack.append((path + ".", value))
                else:
                    yield path, "o", "{}"
            elif kind is list:
                yield path, "a", json.dumps(value, sort_keys=True, default=str)
            else:
                yield path, "s", str(value)
