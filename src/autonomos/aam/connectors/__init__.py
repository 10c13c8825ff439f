"""Connectors: one interface (``base.Connector``) for every kind of source."""

from autonomos.aam.connectors.base import (
    BadRecord,
    CheckResult,
    Connector,
    FieldSpec,
    Message,
    RecordMessage,
    StateMessage,
    StreamSpec,
)
from autonomos.aam.connectors.registry import connector_class, register

__all__ = [
    "BadRecord",
    "CheckResult",
    "Connector",
    "FieldSpec",
    "Message",
    "RecordMessage",
    "StateMessage",
    "StreamSpec",
    "connector_class",
    "register",
]
