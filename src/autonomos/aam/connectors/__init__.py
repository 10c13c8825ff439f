"""Connectors: one interface (``base.Connector``) for every kind of source."""

from autonomos.aam.connectors.base import (
    BadRecord,
    CheckResult,
    Connector,
    FieldSpec,
    Message,
    RecordBatch,
    RecordMessage,
    StateMessage,
    StreamSpec,
)
from autonomos.aam.connectors.context import ConnectorContext
from autonomos.aam.connectors.registry import build_connector, connector_class, register

__all__ = [
    "BadRecord",
    "CheckResult",
    "Connector",
    "ConnectorContext",
    "FieldSpec",
    "Message",
    "RecordBatch",
    "RecordMessage",
    "StateMessage",
    "StreamSpec",
    "build_connector",
    "connector_class",
    "register",
]
