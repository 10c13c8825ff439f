"""Quarantine rows for what a landing batch could not land, one open item per bad source row.

Each item gets a fingerprint of what was read (stream, stage, raw text or payload, key), so the
same malformed row read again by the next sync adds to its open item's ``occurrences`` instead
of opening another. A row whose item a person already fixed (``aos quarantine retry``) stays
fixed: the re-read counts on the resolved item, and in a full refresh the fixed record's key
counts as seen, so the refresh does not record that record as deleted.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from autonomos.aam.connectors.base import BadRecord
from autonomos.store.tables import Quarantine, SyncRunKey

MAX_QUARANTINED_RAW = 64 * 1024
"""Bytes of an unparsable record kept in quarantine (the reason says when it was cut)."""

_OPEN_FINGERPRINT = text("status = 'open' AND fingerprint IS NOT NULL")


@dataclass(frozen=True)
class Where:
    """Which stream of which sync run the batch belongs to."""

    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    stream: str
    run_id: uuid.UUID | None
    remember_keys: bool


def fingerprint(stream: str, raw: bytes | None, payload: bytes | None, record_key: str | None) -> bytes | None:
    """What identifies a bad source row across syncs; None when nothing was read to identify it."""
    if raw is None and payload is None:
        return None
    digest = hashlib.blake2b(digest_size=16)
    for part in (stream.encode(), b"landing", raw or b"", payload or b"", (record_key or "").encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.digest()


def write(session: Session, where: Where, items: list[BadRecord], canonical) -> dict[str, int]:
    """Insert or count the batch's bad records; returns the count per reason (before the first colon)."""
    reasons: dict[str, int] = {}
    rows: dict[bytes | int, dict[str, Any]] = {}
    for n, item in enumerate(items):
        raw = item.raw.encode("utf-8", "surrogateescape") if isinstance(item.raw, str) else item.raw
        reason = item.reason
        if raw is not None and len(raw) > MAX_QUARANTINED_RAW:
            reason = f"{reason} (raw record cut to {MAX_QUARANTINED_RAW} of {len(raw)} bytes)"
            raw = raw[:MAX_QUARANTINED_RAW]
        serialised = canonical(item.payload) if item.payload is not None else None
        mark = fingerprint(where.stream, raw, serialised, item.record_key)
        short = item.reason.split(":", 1)[0]
        reasons[short] = reasons.get(short, 0) + 1
        key: bytes | int = mark if mark is not None else n
        if key in rows:
            rows[key]["occurrences"] += 1
            continue
        rows[key] = {"tenant_id": where.tenant_id, "connection_id": where.connection_id, "stream": where.stream,
                     "sync_run_id": where.run_id, "stage": "landing", "reason": reason,
                     "record_key": item.record_key, "raw": raw, "fingerprint": mark, "occurrences": 1,
                     "payload": orjson.loads(serialised) if serialised is not None else None}
    _count_fixed(session, where, rows)
    if rows:
        statement = pg_insert(Quarantine).values(list(rows.values()))
        session.execute(statement.on_conflict_do_update(
            index_elements=["tenant_id", "connection_id", "stream", "stage", "fingerprint"],
            index_where=_OPEN_FINGERPRINT,
            set_={"occurrences": Quarantine.occurrences + statement.excluded.occurrences,
                  "last_seen_at": func.now(), "sync_run_id": statement.excluded.sync_run_id,
                  "reason": statement.excluded.reason},
        ))
    return reasons


def _count_fixed(session: Session, where: Where, rows: dict[bytes | int, dict[str, Any]]) -> None:
    """Rows a person already fixed through a retry: count them there (and, in a full refresh,
    keep the fixed record's key as seen); they open no new item."""
    marks = [k for k in rows if isinstance(k, bytes)]
    if not marks:
        return
    fixed = session.execute(
        select(Quarantine.id, Quarantine.fingerprint, Quarantine.record_key)
        .where(Quarantine.tenant_id == where.tenant_id, Quarantine.connection_id == where.connection_id,
               Quarantine.stream == where.stream, Quarantine.stage == "landing", Quarantine.status == "resolved",
               Quarantine.fingerprint.in_(marks))
    ).all()
    for item_id, mark, record_key in fixed:
        row = rows.pop(mark, None)
        if row is None:
            continue
        session.execute(update(Quarantine).where(Quarantine.tenant_id == where.tenant_id, Quarantine.id == item_id)
                        .values(occurrences=Quarantine.occurrences + row["occurrences"], last_seen_at=func.now()))
        if where.remember_keys and where.run_id is not None and record_key:
            session.execute(pg_insert(SyncRunKey).values(
                tenant_id=where.tenant_id, sync_run_id=where.run_id, stream=where.stream, record_key=record_key,
            ).on_conflict_do_nothing())
