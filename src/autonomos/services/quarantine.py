"""Quarantine: records that could not be landed (or applied), for people to see and replay.

A retry lands the stored payload (or a corrected one a person supplies) through the same
landing as a sync; on success the item is marked resolved, otherwise it keeps the new reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from autonomos.aam.connectors.base import RecordMessage
from autonomos.aam.sync.landing import Lander, canonical_json, record_key
from autonomos.errors import Conflict, NotFound
from autonomos.services import audit
from autonomos.services.connections import open_connector
from autonomos.runtime import Runtime
from autonomos.store.tables import Quarantine


@dataclass(frozen=True)
class QuarantineItem:
    id: int
    connection_id: str | None
    stream: str | None
    stage: str
    reason: str
    record_key: str | None
    payload: dict[str, Any] | None
    raw_preview: str | None
    raw_size: int
    status: str
    occurrences: int = 1
    """How many times syncs read this same bad row (one item, not one per sync)."""
    created_at: str | None = None
    last_seen_at: str | None = None


@dataclass(frozen=True)
class QuarantinePage:
    """Newest first; ``next_cursor`` is None on the last page."""

    items: list[QuarantineItem]
    total: int
    next_cursor: int | None


def _item(row: Quarantine) -> QuarantineItem:
    raw = bytes(row.raw) if row.raw is not None else None
    preview = raw[:200].decode("utf-8", "replace") if raw is not None else None
    return QuarantineItem(row.id, str(row.connection_id) if row.connection_id else None, row.stream, row.stage,
                          row.reason, row.record_key, row.payload, preview, len(raw or b""), row.status,
                          row.occurrences, _iso(row.created_at), _iso(row.last_seen_at))


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def list_items(rt: Runtime, tenant_id: uuid.UUID, *, status: str | None = "open", stream: str | None = None,
               limit: int = 50, cursor: int | None = None) -> QuarantinePage:
    """A page of items, newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    filters = [Quarantine.tenant_id == tenant_id]
    if status:
        filters.append(Quarantine.status == status)
    if stream:
        filters.append(Quarantine.stream == stream)
    with rt.db.tenant(tenant_id) as session:
        total = session.scalar(select(func.count()).select_from(Quarantine).where(*filters))
        query = select(Quarantine).where(*filters).order_by(Quarantine.id.desc()).limit(limit + 1)
        if cursor is not None:
            query = query.where(Quarantine.id < cursor)
        rows = list(session.scalars(query))
    items = [_item(r) for r in rows[:limit]]
    return QuarantinePage(items, total or 0, items[-1].id if len(rows) > limit else None)


def summary(rt: Runtime, tenant_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, int]:
    """Open items of one sync run, counted by reason (the part before the first colon)."""
    with rt.db.tenant(tenant_id) as session:
        reason = func.split_part(Quarantine.reason, ":", 1)
        rows = session.execute(
            select(reason, func.count())
            .where(Quarantine.tenant_id == tenant_id, Quarantine.sync_run_id == run_id)
            .group_by(reason)
        ).all()
    return {reason: n for reason, n in rows}


def get_item(rt: Runtime, tenant_id: uuid.UUID, item_id: int) -> QuarantineItem:
    with rt.db.tenant(tenant_id) as session:
        row = session.scalar(select(Quarantine).where(Quarantine.tenant_id == tenant_id, Quarantine.id == item_id))
        if row is None:
            raise NotFound("no such quarantined record", tenant=tenant_id, item=item_id)
        return _item(row)


def retry_item(rt: Runtime, tenant_id: uuid.UUID, item_id: int, *, payload: dict[str, Any] | None = None,
               actor: str) -> QuarantineItem:
    """Land the item's payload (or ``payload``, a person's correction) again."""
    item = get_item(rt, tenant_id, item_id)
    if item.status != "open":
        raise Conflict("this record is no longer open", item=item_id, status=item.status)
    record = payload if payload is not None else item.payload
    if record is None:
        raise Conflict("the record could not be parsed; supply a corrected payload", item=item_id)
    connector = open_connector(rt, tenant_id, item.connection_id)
    try:
        stream = next((s for s in connector.discover() if s.name == item.stream), None)
    finally:
        connector.close()
    if stream is None:
        raise NotFound("the stream no longer exists", stream=item.stream)
    lander = Lander(tenant_id, uuid.UUID(item.connection_id), stream, None)
    with rt.db.tenant(tenant_id) as session:
        result = lander.land(session, [RecordMessage(stream.name, record)])
        row = session.get(Quarantine, item_id)
        if result.quarantined:
            raise Conflict("the record still cannot be landed", item=item_id, reasons=sorted(result.reasons))
        row.status = "resolved"
        row.record_key = row.record_key or record_key(stream, record, canonical_json(record))
        row.resolved_at = func.now()
        audit.record(session, tenant_id, actor=actor, action="quarantine.retry", target_type="quarantine",
                     target_id=item_id, before={"reason": item.reason}, after={"status": "resolved"})
        session.flush()
        session.refresh(row)
        return _item(row)
