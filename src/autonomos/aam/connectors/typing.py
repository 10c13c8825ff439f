"""Vocabulary shared by connectors and the sync engine."""

from __future__ import annotations

from typing import Literal

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "object", "array", "unknown"]
"""The types a stream's fields are discovered as (the same words as the matcher's schema files)."""

SyncMode = Literal["incremental", "full"]
"""``incremental`` resumes from the stream's cursor; ``full`` reads everything and records
deletes for keys the source no longer has (a full-refresh diff)."""
