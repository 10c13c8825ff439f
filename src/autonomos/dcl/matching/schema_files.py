"""Read benchmark schema and gold files (see benchmarks FORMAT.md) into matcher records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autonomos.dcl.matching.exceptions import SchemaFormatError
from autonomos.dcl.matching.names import split_identifier
from autonomos.dcl.matching.typing import FIELD_TYPES, SourceField, TargetField


def load_json(path: Path | str) -> dict[str, Any]:
    """Read a JSON object from disk, failing with a readable message."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SchemaFormatError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise SchemaFormatError(f"{path}: expected a JSON object at the top level")
    return document


def _tables(schema: dict[str, Any]) -> list[dict[str, Any]]:
    tables = schema.get("tables")
    if not isinstance(tables, list):
        raise SchemaFormatError("schema needs a 'tables' list")
    for table in tables:
        if not isinstance(table, dict) or not isinstance(table.get("name"), str):
            raise SchemaFormatError("every table needs a 'name'")
        if not isinstance(table.get("fields", []), list):
            raise SchemaFormatError(f"table {table['name']!r}: 'fields' must be a list")
    return tables


def _field_type(raw: Any) -> str:
    """Unknown or missing types degrade to 'unknown' instead of failing the whole run."""
    return raw if isinstance(raw, str) and raw in FIELD_TYPES else "unknown"


def source_fields(schema: dict[str, Any]) -> list[SourceField]:
    """All fields of a source schema, in file order."""
    fields: list[SourceField] = []
    for table in _tables(schema):
        for raw in table.get("fields", []):
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                raise SchemaFormatError(f"table {table['name']!r}: every field needs a 'name'")
            samples = raw.get("samples") or ()
            fields.append(
                SourceField(
                    table=table["name"],
                    name=raw["name"],
                    type=_field_type(raw.get("type")),
                    description=str(raw.get("description") or ""),
                    samples=tuple(samples) if isinstance(samples, list) else (),
                    table_description=str(table.get("description") or ""),
                )
            )
    return fields


def target_fields(schema: dict[str, Any]) -> list[TargetField]:
    """All fields of the canonical target schema, in file order, undescribed ones with a sibling's description."""
    fields = source_fields(schema)
    return [
        TargetField(
            table=field.table,
            name=field.name,
            type=field.type,
            description=field.description or _sibling_description(field, fields),
            table_description=field.table_description,
        )
        for field in fields
    ]


SIBLING_REST = 2


def _sibling_description(field: SourceField, fields: list[SourceField]) -> str:
    """The description of the described field of the same table whose name differs only in its last words.

    Ontologies often describe one of a family ("start_date") and leave its variants ("start_datetime",
    "start_text") bare; the variant means the same thing in another form. A sibling that is a bare id
    ("person_id" for "person_name") says nothing about the variant, so it lends nothing.
    """
    words = split_identifier(field.name)
    best: tuple[int, int, str] = (0, 0, "")
    for other in fields:
        if other.table != field.table or not other.description or other.name == field.name:
            continue
        theirs = split_identifier(other.name)
        shared = 0
        while shared < min(len(words), len(theirs)) and words[shared] == theirs[shared]:
            shared += 1
        rest, their_rest = len(words) - shared, len(theirs) - shared
        if shared == 0 or rest > SIBLING_REST or their_rest > SIBLING_REST or their_rest == 0 or rest == 0:
            continue
        if their_rest == 1 and theirs[-1] in BARE_ID_WORDS:
            continue
        if (shared, -rest - their_rest) > best[:2]:
            best = (shared, -rest - their_rest, other.description)
    return best[2]


BARE_ID_WORDS = frozenset({"id", "key", "uuid", "guid", "pk", "ref"})


def system_name(schema: dict[str, Any]) -> str:
    """The schema's 'system' label ('' when absent); vendor prefixes often repeat it."""
    value = schema.get("system")
    return value if isinstance(value, str) else ""
