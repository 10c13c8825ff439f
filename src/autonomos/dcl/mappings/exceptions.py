"""Mapping errors.

    AutonomosError
    └── MappingError              a review, publish or rollback cannot be done (terminal)
        └── TransformError        a transform step is malformed; the message names field and step
"""

from __future__ import annotations

from autonomos.errors import AutonomosError


class MappingError(AutonomosError):
    """Base of mapping errors; carries tenant, connection, stream and proposal/version ids when known."""


class TransformError(MappingError):
    """Raised when a mapping's transform cannot be compiled (unknown op, missing argument)."""
