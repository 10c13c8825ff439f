"""The vector store's vocabulary: what kinds of item it mirrors and the shapes it trades in.

An item is one thing Postgres knows (a canonical field, a source field, an approved mapping
example, a rejected one) embedded by one model. ``ref_id`` names the Postgres row (and the part of it) the
vector stands for; query hits are resolved back through it and never trusted on their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

ItemKind = Literal["canonical_field", "source_field", "mapping_example", "rejected_example"]
ITEM_KINDS: frozenset[str] = frozenset(get_args(ItemKind))
"""canonical_field: ``<canonical_schemas.id>:<entity>.<field>`` (the schema's current version);
source_field: ``<schema_snapshots.id>:<path>``; mapping_example: ``<mapping_versions.id>:<source field>`` (``<source field> -> <canonical field>``
for each part of a split field);
rejected_example: ``<mapping_proposals.id>:<source field>`` (a proposal whose latest decision rejects a target)."""

OutboxAction = Literal["upsert", "delete"]


@dataclass(frozen=True)
class VectorRecord:
    """One embedding to store, with the minimal metadata the backends index on."""

    tenant_id: uuid.UUID
    kind: ItemKind
    ref_id: str
    model: str
    vector: Sequence[float]
    content_hash: str
    source_system: str | None = None
    object_type: str | None = None
    field_name: str | None = None
    mapping_id: uuid.UUID | None = None

    @property
    def dimensions(self) -> int:
        return len(self.vector)


@dataclass(frozen=True)
class VectorHit:
    """A nearest neighbour as the store reports it: a reference and a cosine similarity."""

    kind: str
    ref_id: str
    score: float


@dataclass(frozen=True)
class ItemSource:
    """What Postgres says an item is: the text to embed, its metadata and its details."""

    kind: ItemKind
    ref_id: str
    text: str
    source_system: str | None = None
    object_type: str | None = None
    field_name: str | None = None
    mapping_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolvedHit:
    """A hit whose Postgres row exists, with what that row says now."""

    score: float
    item: ItemSource
