"""The canonical ontology as data: documents (files), the tenant registry, the shipped default."""

from autonomos.dcl.ontology.documents import content_hash, default_document, dump, extend, load_file, parse_text
from autonomos.dcl.ontology.exceptions import OntologyError, OntologyFormatError
from autonomos.dcl.ontology.registry import OntologyVersion
from autonomos.dcl.ontology.typing import DEFAULT_ONTOLOGY, FIELD_TYPES, EntitySpec, FieldSpec, OntologyDocument

__all__ = [
    "DEFAULT_ONTOLOGY",
    "FIELD_TYPES",
    "EntitySpec",
    "FieldSpec",
    "OntologyDocument",
    "OntologyError",
    "OntologyFormatError",
    "OntologyVersion",
    "content_hash",
    "default_document",
    "dump",
    "extend",
    "load_file",
    "parse_text",
]
