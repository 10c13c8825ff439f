"""The connector catalogue: every kind of source the platform can connect to, with the JSON
Schema of its config (what a client needs to build a connection form)."""

from __future__ import annotations

from typing import Any

from autonomos.aam.connectors.registry import BUILTIN_MODULES, connector_class
from autonomos.errors import NotFound


def _kind(provider: str) -> dict[str, Any]:
    return {"provider": provider, "config_schema": connector_class(provider).spec()}


def list_kinds() -> list[dict[str, Any]]:
    """Every built-in provider with its config schema, by provider id."""
    return [_kind(p) for p in sorted(BUILTIN_MODULES)]


def get_kind(provider: str) -> dict[str, Any]:
    if provider not in BUILTIN_MODULES:
        raise NotFound("no connector for this provider", provider=provider)
    return _kind(provider)
