"""Source field paths: how a mapping names a field of a raw payload, nested or not.

A dot separates nesting levels (``address.city`` is ``{"address": {"city": ...}}``), as in
every mapping version published so far. A key that itself holds a dot (a CSV column
``first.name``) escapes it with a backslash, ``first\\.name``, and a literal backslash is
``\\\\``. Paths without a backslash read exactly as before, so stored versions keep their meaning.
"""

from __future__ import annotations


def escape_key(key: str) -> str:
    """One payload key as a path segment."""
    if "." not in key and "\\" not in key:
        return key
    return key.replace("\\", "\\\\").replace(".", "\\.")


def join_path(keys: list[str] | tuple[str, ...]) -> str:
    return ".".join(escape_key(k) for k in keys)


def split_path(path: str) -> list[str]:
    """The payload keys a path names, outermost first (``a\\.b.c`` -> ``["a.b", "c"]``)."""
    if "\\" not in path:
        return path.split(".")
    keys, current, chars = [], [], iter(path)
    for char in chars:
        if char == "\\":
            current.append(next(chars, "\\"))
        elif char == ".":
            keys.append("".join(current))
            current = []
        else:
            current.append(char)
    keys.append("".join(current))
    return keys


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a path a person meant, or None: a backslash escapes only a dot or a
    backslash, so ``na\\me`` (which ``split_path`` would read as ``name``) is refused, not guessed."""
    chars = iter(path)
    for char in chars:
        if char == "\\" and (following := next(chars, "")) not in (".", "\\"):
            shown = repr(following) if following else "the end"
            return (f"source field {path!r} has a backslash before {shown}: a backslash may only escape a dot "
                    "(a.b for nesting, a\\.b for a key holding a dot) or another backslash")
    return None
