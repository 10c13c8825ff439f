"""Ontology documents as data: parse, validate, hash, extend and dump.

Documents are normalised on the way in (``system`` or ``name`` becomes ``name``, every
field gets a type and a description, an optional glossary is checked and its terms put in
lower case and in order) so that what is stored, hashed and exported is one
shape. The content hash ignores the order of entities and fields: re-importing an export
whose keys were reordered is a no-op, not a new version.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from autonomos.dcl.matching.exceptions import SchemaFormatError
from autonomos.dcl.matching.glossary import normalise_glossary
from autonomos.dcl.ontology.exceptions import OntologyFormatError
from autonomos.dcl.ontology.typing import FIELD_TYPES, EntitySpec, ExportFormat, FieldSpec, OntologyDocument

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_BYTES = 16 * 1024 * 1024
MAX_ENTITIES = 1_000
MAX_FIELDS = 100_000
"""Bounds of one document (a tenant's whole ontology): text size, entities, fields in all."""


def parse_text(text: str) -> OntologyDocument:
    """A document from YAML or JSON text (YAML is a superset of JSON)."""
    if len(text) > MAX_BYTES:
        raise OntologyFormatError(f"the document is {len(text)} characters, over the limit of {MAX_BYTES}")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OntologyFormatError(f"not valid YAML or JSON: {exc}") from exc
    except RecursionError:
        raise OntologyFormatError("the document is nested too deeply to read") from None
    return normalise(raw)


def load_file(path: Path | str) -> OntologyDocument:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise OntologyFormatError(f"{path} is {size} bytes, over the limit of {MAX_BYTES}")
        return parse_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise OntologyFormatError(f"cannot read {path}: {exc}") from exc


def default_document(name: str) -> OntologyDocument:
    """The shipped default ontology ``name`` (``default/<name>.yaml`` in this package)."""
    resource = resources.files("autonomos.dcl.ontology") / "default" / f"{name}.yaml"
    if not resource.is_file():
        raise OntologyFormatError("no shipped default ontology", ontology=name)
    return parse_text(resource.read_text(encoding="utf-8"))


def normalise(raw: Any) -> OntologyDocument:
    """Validate a parsed document and return it in the stored shape."""
    if not isinstance(raw, dict):
        raise OntologyFormatError("an ontology is a mapping with 'name' (or 'system') and 'tables'")
    name = raw.get("name") or raw.get("system")
    if not isinstance(name, str) or not NAME.match(name):
        raise OntologyFormatError("the ontology needs a 'name' (letters, digits, underscores)")
    tables = raw.get("tables")
    if not isinstance(tables, list):
        raise OntologyFormatError("the ontology needs a 'tables' list", ontology=name)
    if not tables:
        raise OntologyFormatError("the ontology needs at least one entity in 'tables'", ontology=name)
    if len(tables) > MAX_ENTITIES:
        raise OntologyFormatError(f"{len(tables)} entities, over the limit of {MAX_ENTITIES}", ontology=name)
    fields = sum(len(t.get("fields") or []) for t in tables if isinstance(t, dict) and isinstance(t.get("fields"), list))
    if fields > MAX_FIELDS:
        raise OntologyFormatError(f"{fields} fields, over the limit of {MAX_FIELDS}", ontology=name)
    entities = [_entity(t, name) for t in tables]
    _unique([e["name"] for e in entities], "entity", name)
    document: OntologyDocument = {"name": name, "description": _description(raw, ontology=name), "tables": entities}
    return _with_glossary(document, _glossary(raw.get("glossary"), name))


def _glossary(raw: Any, ontology: str) -> dict[str, str]:
    """The optional glossary (term -> meaning), checked by the matcher's own rules."""
    try:
        return normalise_glossary(raw)
    except SchemaFormatError as exc:
        raise OntologyFormatError(exc.message, ontology=ontology, **exc.context) from None


def _with_glossary(document: OntologyDocument, glossary: dict[str, str]) -> OntologyDocument:
    """The glossary is stored only when there is one, so documents without it keep their shape and hash."""
    if glossary:
        document["glossary"] = dict(sorted(glossary.items()))
    return document


def _entity(raw: Any, ontology: str) -> EntitySpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not NAME.match(raw["name"]):
        raise OntologyFormatError("every entity needs a 'name' (letters, digits, underscores)", ontology=ontology)
    fields = raw.get("fields", [])
    if not isinstance(fields, list):
        raise OntologyFormatError("'fields' must be a list", ontology=ontology, entity=raw["name"])
    specs = [_field(f, ontology, raw["name"]) for f in fields]
    _unique([f["name"] for f in specs], "field", ontology, entity=raw["name"])
    return {"name": raw["name"], "description": _description(raw, ontology=ontology, entity=raw["name"]), "fields": specs}


def _field(raw: Any, ontology: str, entity: str) -> FieldSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not NAME.match(raw["name"]):
        raise OntologyFormatError("every field needs a 'name' (letters, digits, underscores)",
                                  ontology=ontology, entity=entity)
    type_ = raw.get("type", "string")
    if not isinstance(type_, str) or type_ not in FIELD_TYPES:
        raise OntologyFormatError(f"unknown type {type_!r}; use one of {sorted(FIELD_TYPES)}",
                                  ontology=ontology, entity=entity, field=raw["name"])
    return {"name": raw["name"], "type": type_,
            "description": _description(raw, ontology=ontology, entity=entity, field=raw["name"])}


def _description(raw: dict, **context: str) -> str:
    """A description is text (numbers are taken as written); a list or mapping is refused, so a
    YAML alias cannot expand into a gigantic string."""
    value = raw.get("description")
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise OntologyFormatError(f"'description' must be text, not {type(value).__name__}", **context)


def _unique(names: list[str], what: str, ontology: str, **context: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise OntologyFormatError(f"duplicate {what} {n!r}", ontology=ontology, **context)
        seen.add(n)


def content_hash(document: OntologyDocument) -> str:
    """SHA-256 of the document with entities and fields sorted by name (order-insensitive)."""
    canonical: dict[str, Any] = {
        "name": document["name"],
        "description": document["description"],
        "tables": sorted(
            ({**t, "fields": sorted(t["fields"], key=lambda f: f["name"])} for t in document["tables"]),
            key=lambda t: t["name"],
        ),
    }
    if document.get("glossary"):
        canonical["glossary"] = document["glossary"]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def extend(base: OntologyDocument, extension: OntologyDocument) -> OntologyDocument:
    """``base`` with ``extension`` laid over it: new entities and fields are added, same-named
    fields take the extension's type and description, glossary terms the extension's meaning;
    nothing of ``base`` is removed."""
    tables = {t["name"]: {**t, "fields": list(t["fields"])} for t in base["tables"]}
    for entity in extension["tables"]:
        target = tables.setdefault(entity["name"], {**entity, "fields": []})
        if entity["description"]:
            target["description"] = entity["description"]
        positions = {f["name"]: i for i, f in enumerate(target["fields"])}
        for spec in entity["fields"]:
            if spec["name"] in positions:
                target["fields"][positions[spec["name"]]] = spec
            else:
                target["fields"].append(spec)
    merged: OntologyDocument = {"name": base["name"], "description": extension["description"] or base["description"],
                                "tables": list(tables.values())}
    return _with_glossary(merged, {**base.get("glossary", {}), **extension.get("glossary", {})})


def dump(document: OntologyDocument, fmt: ExportFormat = "yaml") -> str:
    """Text of a document in the import format, so an export re-imports as a no-op."""
    if fmt == "json":
        return json.dumps(document, indent=2) + "\n"
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=120)


def field_index(document: OntologyDocument) -> dict[tuple[str, str], FieldSpec]:
    """(entity, field) -> field spec, for diffs and lookups."""
    return {(t["name"], f["name"]): f for t in document["tables"] for f in t["fields"]}
