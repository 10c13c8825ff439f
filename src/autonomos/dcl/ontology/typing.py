"""The ontology's vocabulary: field types and the stored document shape.

An ontology document has the shape of a schema file (benchmarks FORMAT.md): its tables
are the canonical entities. That is what files hold, what ``canonical_schema_versions``
stores as ``content``, and what the matcher reads as a target.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict, get_args

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "object", "array", "unknown"]
FIELD_TYPES: frozenset[str] = frozenset(get_args(FieldType))
"""Field types a canonical field may declare (the schema-file types)."""

DEFAULT_ONTOLOGY = "crm"
"""Name of the built-in ontology a tenant gets on first use."""

ExportFormat = Literal["yaml", "json"]


class FieldSpec(TypedDict):
    name: str
    type: FieldType
    description: str


class EntitySpec(TypedDict):
    name: str
    description: str
    fields: list[FieldSpec]


class OntologyDocument(TypedDict):
    name: str
    description: str
    tables: list[EntitySpec]
    glossary: NotRequired[dict[str, str]]
    """The tenant's own terms and abbreviations -> their meaning in words (``uom: unit of measure``);
    present only when not empty. The matcher reads a term in a name as its meaning."""
