"""Schema snapshots: a stream's observed fields, their fingerprint, and the profile.

The fingerprint is a hash of the sorted (path, type) list, so it is stable under field
order and changes exactly when a field appears, disappears or changes type. Re-profiling
an unchanged schema refreshes the stored profile; a new fingerprint is a new snapshot, and
its fields are queued for embedding (the previous snapshot's, for removal) in the same
transaction. Snapshots are a history: a schema that comes back is a new snapshot again.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from autonomos.dcl.profiling.typing import Profile
from autonomos.dcl.vectors.sources import enqueue, make_ref
from autonomos.store.tables import SchemaSnapshot


RECIPE = "fields-1"
"""This module's fingerprint recipe (sorted name/type pairs); other recipes keep their own history."""


def snapshot_fields(profile: Profile) -> list[dict[str, str]]:
    return sorted(({"name": f["path"], "type": f["type"]} for f in profile["fields"]), key=lambda f: f["name"])


def fingerprint(fields: list[dict[str, str]]) -> str:
    pairs = sorted((f["name"], f["type"]) for f in fields)
    return hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class SnapshotInfo:
    id: uuid.UUID
    fingerprint: str
    created: bool
    fields: list[dict[str, str]]
    profile: Profile


def store_snapshot(
    session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str, profile: Profile
) -> SnapshotInfo:
    fields = snapshot_fields(profile)
    digest = fingerprint(fields)
    previous = session.scalar(
        select(SchemaSnapshot).where(SchemaSnapshot.tenant_id == tenant_id, SchemaSnapshot.connection_id == connection_id,
                                     SchemaSnapshot.stream == stream, SchemaSnapshot.recipe == RECIPE)
        .order_by(SchemaSnapshot.observed_at.desc()).limit(1).with_for_update())
    created = previous is None or previous.fingerprint != digest
    if created:
        snapshot_id = session.execute(
            insert(SchemaSnapshot).values(tenant_id=tenant_id, connection_id=connection_id, stream=stream,
                                          fingerprint=digest, recipe=RECIPE, fields=fields, profile=profile)
            .returning(SchemaSnapshot.id)).scalar_one()
    else:
        previous.profile, previous.observed_at = profile, func.now()
        snapshot_id = previous.id
    if created:
        enqueue(session, tenant_id, "source_field", [make_ref(snapshot_id, f["name"]) for f in fields])
        if previous is not None:
            enqueue(session, tenant_id, "source_field",
                    [make_ref(previous.id, f["name"]) for f in previous.fields], "delete")
    return SnapshotInfo(snapshot_id, digest, created, fields, profile)
