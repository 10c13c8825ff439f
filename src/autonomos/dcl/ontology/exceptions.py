"""Ontology errors.

    AutonomosError
    └── OntologyError             an ontology operation failed (terminal)
        └── OntologyFormatError   a file or document does not have the ontology shape (also InvalidInput)
"""

from __future__ import annotations

from autonomos.errors import AutonomosError, InvalidInput


class OntologyError(AutonomosError):
    """Base of ontology errors; carries the tenant and ontology name when known."""


class OntologyFormatError(OntologyError, InvalidInput):
    """Raised when an ontology document is malformed; the message names the offending part."""
