"""The second reading of a JSON file that DuckDB refused as a whole: Python's json, which
accepts what may be one element's fault (a lone surrogate escape such as ``"\\ud800"`` is valid
JSON syntax that DuckDB rejects), so the file's good elements still land."""

from __future__ import annotations

import json
import os
from typing import Any

PYTHON_JSON_BYTES = 64 * 1024 * 1024
"""A JSON file DuckDB refuses is read again by Python's json, element by element, up to this size."""


def json_elements(path: str) -> list[Any] | None:
    """The file's elements as Python's json reads them; None when the file is over
    ``PYTHON_JSON_BYTES`` or not JSON at all."""
    if os.path.getsize(path) > PYTHON_JSON_BYTES:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            parsed = json.load(handle)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, list) else [parsed]
