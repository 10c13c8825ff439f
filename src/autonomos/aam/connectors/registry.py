"""Which connector class serves which provider. Built-ins register on import; a plugin
registers the same way, so built-ins and extensions use one mechanism."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from autonomos.aam.connectors.base import Connector
from autonomos.aam.connectors.context import ConnectorContext
from autonomos.aam.connectors.sandbox import Sandbox
from autonomos.errors import NotFound

_REGISTRY: dict[str, type[Connector]] = {}

BUILTIN_MODULES = {
    "files": "autonomos.aam.connectors.files",
    "postgres": "autonomos.aam.connectors.sql",
    "mysql": "autonomos.aam.connectors.sql",
    "rest": "autonomos.aam.connectors.rest.connector",
    "salesforce": "autonomos.aam.connectors.rest.salesforce",
    "hubspot": "autonomos.aam.connectors.rest.hubspot",
    "airbyte": "autonomos.aam.connectors.airbyte",
}
"""Provider id -> module that registers it (imported on first use)."""


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make ``cls`` the connector for ``cls.provider``."""
    _REGISTRY[cls.provider] = cls
    return cls


def connector_class(provider: str) -> type[Connector]:
    if provider not in _REGISTRY and provider in BUILTIN_MODULES:
        import_module(BUILTIN_MODULES[provider])
    try:
        return _REGISTRY[provider]
    except KeyError:
        raise NotFound("no connector for this provider", provider=provider) from None


def build_connector(provider: str, config: dict[str, Any], credentials: dict[str, Any] | None,
                    context: ConnectorContext | None = None, sandbox: Sandbox | None = None) -> Connector:
    """The connector for ``provider``, bound to ``sandbox``; only connectors that declare
    ``uses_context`` get the context."""
    cls = connector_class(provider)
    connector = cls(config, credentials, context=context) if cls.uses_context else cls(config, credentials)
    connector.sandbox = sandbox
    return connector
