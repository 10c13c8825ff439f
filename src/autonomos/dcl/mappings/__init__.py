"""Mappings: the review queue over matcher proposals, immutable mapping versions, transforms."""

from autonomos.dcl.mappings.exceptions import MappingError, TransformError
from autonomos.dcl.mappings.transforms import compile_fields, describe
from autonomos.dcl.mappings.typing import FieldMapping, TransformStep

__all__ = ["FieldMapping", "MappingError", "TransformError", "TransformStep", "compile_fields", "describe"]
