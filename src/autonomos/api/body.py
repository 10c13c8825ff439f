"""Answers whose JSON is ready: written by Postgres or by orjson, passed through as they are.

A route that returns a dict has it checked against its declared model and encoded by the
standard library; for the record reads that cost several times the query. Such a route keeps
its ``response_model`` (it still describes the answer in OpenAPI, and the schemathesis test
holds the answers to it) and returns a ``JSONBody``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi.encoders import jsonable_encoder
from starlette.responses import Response


class JSONBody(Response):
    """An ``application/json`` answer whose body is already encoded."""

    media_type = "application/json"


def dumps_json(value: Any) -> bytes:
    """``value`` as JSON (dataclasses, UUIDs and datetimes included) by orjson; an integer
    beyond 64 bits (jsonb keeps them exactly, orjson refuses them) goes the slow way."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(jsonable_encoder(value), separators=(",", ":")).encode()
