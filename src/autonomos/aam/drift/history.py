"""What drift reads and writes in Postgres: the run's landed records, the previous version of
the same records (rename evidence), the snapshot history of a recipe, and drift events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from autonomos.aam.drift.classify import VALUE, Finding
from autonomos.aam.drift.fingerprint import RECIPE, StreamShape
from autonomos.aam.drift.profile import TOP
from autonomos.store.tables import DriftEvent, RawRecord, SchemaSnapshot

SAMPLE = 20_000
"""Records of a run that are profiled (the first landed, in landing order)."""
PAIRS = 1_000
"""Records compared with their previous version for rename evidence."""


def run_records(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str,
                run_id: uuid.UUID, limit: int = SAMPLE) -> list[dict[str, Any]]:
    """Payloads of the live records the run landed (new records and new versions)."""
    return list(session.scalars(
        select(RawRecord.payload).where(RawRecord.tenant_id == tenant_id, RawRecord.connection_id == connection_id,
                                        RawRecord.stream == stream, RawRecord.sync_run_id == run_id,
                                        RawRecord.is_deleted.is_(False))
        .order_by(RawRecord.id).limit(limit)))


def version_pairs(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str,
                  run_id: uuid.UUID, limit: int = PAIRS) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(previous, current) payloads of records whose new version the run landed."""
    prev = aliased(RawRecord)
    rows = session.execute(
        select(prev.payload, RawRecord.payload)
        .join(prev, (prev.tenant_id == RawRecord.tenant_id) & (prev.connection_id == RawRecord.connection_id)
              & (prev.stream == RawRecord.stream) & (prev.record_key == RawRecord.record_key)
              & (prev.version == RawRecord.version - 1))
        .where(RawRecord.tenant_id == tenant_id, RawRecord.connection_id == connection_id, RawRecord.stream == stream,
               RawRecord.sync_run_id == run_id, RawRecord.is_deleted.is_(False), prev.is_deleted.is_(False))
        .order_by(RawRecord.id).limit(limit))
    return [(p, c) for p, c in rows]


def latest_snapshot(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID,
                    stream: str) -> SchemaSnapshot | None:
    """The stream's newest snapshot of this recipe, locked so concurrent checks take turns."""
    return session.scalar(
        select(SchemaSnapshot).where(SchemaSnapshot.tenant_id == tenant_id,
                                     SchemaSnapshot.connection_id == connection_id, SchemaSnapshot.stream == stream,
                                     SchemaSnapshot.recipe == RECIPE)
        .order_by(SchemaSnapshot.observed_at.desc(), SchemaSnapshot.id).limit(1).with_for_update())


def add_snapshot(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str,
                 shape: StreamShape, profile: dict[str, Any]) -> SchemaSnapshot:
    snapshot = SchemaSnapshot(tenant_id=tenant_id, connection_id=connection_id, stream=stream,
                              fingerprint=shape.fingerprint(), recipe=RECIPE, fields=shape.to_json()["fields"],
                              profile={**profile, "key": list(shape.key)})
    session.add(snapshot)
    session.flush()
    return snapshot


def snapshot_shape(snapshot: SchemaSnapshot) -> StreamShape:
    return StreamShape.from_json({"fields": snapshot.fields, "key": (snapshot.profile or {}).get("key", [])})


def merge_profiles(before: dict[str, Any], after: dict[str, Any], keep: set[str] = frozenset()) -> dict[str, Any]:
    """The baseline a later run compares with: the newest statistics per field, except for the
    ``keep`` fields whose values drifted (they stay as they were until a person accepts the
    change), and every value of a small value set seen so far (a reported new picklist value
    is not reported again)."""
    fields = dict(before.get("fields", {}))
    for name, stats in after["fields"].items():
        old = fields.get(name)
        if old and name in keep:
            stats = {**old, "top": stats["top"]}
        if old and stats["count"]:
            counts: dict[str, int] = {}
            for value, n in [*old.get("top", []), *stats["top"]]:
                counts[value] = counts.get(value, 0) + n
            top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]
            stats = {**stats, "top": [list(t) for t in top], "distinct": max(stats["distinct"], len(counts))}
        if stats["count"] or not old:
            fields[name] = stats
    return {**before, "records": max(before.get("records", 0), after["records"]), "fields": fields}


def open_findings(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID,
                  stream: str) -> set[tuple[str, str, str]]:
    """(field, kind, rule) of the stream's open events: a drift still open is not reported again."""
    return {tuple(r) for r in session.execute(  # type: ignore[misc]
        select(DriftEvent.field, DriftEvent.kind, DriftEvent.rule).where(
            DriftEvent.tenant_id == tenant_id, DriftEvent.connection_id == connection_id,
            DriftEvent.stream == stream, DriftEvent.status == "open"))}


def rebaseline(session: Session, tenant_id: uuid.UUID, snapshot_id: uuid.UUID, field: str,
               stats: dict[str, Any] | None) -> None:
    """An accepted value change becomes the field's baseline (later runs compare with it)."""
    snapshot = session.scalar(select(SchemaSnapshot).where(SchemaSnapshot.tenant_id == tenant_id,
                                                           SchemaSnapshot.id == snapshot_id).with_for_update())
    if snapshot is not None and stats:
        profile = dict(snapshot.profile or {})
        profile["fields"] = {**profile.get("fields", {}), field: stats}
        snapshot.profile = profile


def write_events(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str,
                 from_id: uuid.UUID | None, to_id: uuid.UUID, run_id: uuid.UUID,
                 findings: Sequence[Finding], profile: dict[str, Any]) -> list[DriftEvent]:
    """One row per finding; value findings keep the field's new statistics (what accepting adopts)."""
    rows = [DriftEvent(tenant_id=tenant_id, connection_id=connection_id, stream=stream, from_snapshot_id=from_id,
                       to_snapshot_id=to_id, kind=f.kind, severity=f.severity, rule=f.rule, field=f.field,
                       details={**f.details(), "run_id": str(run_id),
                                **({"after_stats": profile["fields"].get(f.field)} if f.kind in VALUE else {})},
                       confidence=f.confidence)
            for f in findings]
    session.add_all(rows)
    session.flush()
    return rows
