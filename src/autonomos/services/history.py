"""What happened, read back: the change log, entity links, agent runs, eval runs and the audit log.

Every list is a keyset page in a stable order (the table's own ascending id, or newest first
for runs and audit rows): ``after`` is the last position served and ``limit`` rows come
back, so a page is an index range and a client resumes where it stopped. Reads only; each
runs in one tenant transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, tuple_

from autonomos.errors import NotFound
from autonomos.runtime import Runtime
from autonomos.store.tables import AgentRun, AuditLog, CanonicalEvent, ChangeLog, EntityLink, EvalRun


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def list_changes(rt: Runtime, tenant_id: uuid.UUID, *, entity: str | None = None, record_id: uuid.UUID | None = None,
                 after: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Changes to canonical records in the order they were written (``id``), each with its
    operation and, for an update, the changed fields (``diff``; null: every field changed)."""
    query = (select(ChangeLog, CanonicalEvent.op, CanonicalEvent.seq)
             .join(CanonicalEvent, (CanonicalEvent.tenant_id == ChangeLog.tenant_id)
                   & (CanonicalEvent.id == ChangeLog.event_id))
             .where(ChangeLog.tenant_id == tenant_id).order_by(ChangeLog.id).limit(limit))
    if entity:
        query = query.where(ChangeLog.entity == entity)
    if record_id is not None:
        query = query.where(ChangeLog.record_id == record_id)
    if after is not None:
        query = query.where(ChangeLog.id > after)
    with rt.db.tenant(tenant_id) as session:
        return [{"id": c.id, "record_id": str(c.record_id), "event_id": str(c.event_id), "event_seq": seq,
                 "entity": c.entity, "op": op, "diff": c.diff, "changed_at": _iso(c.changed_at)}
                for c, op, seq in session.execute(query)]


def newest_first(query: Any, at: Any, ident: Any, after: tuple[str, str] | None, limit: int) -> Any:
    """``query`` ordered newest first by (``at``, ``ident``), resuming below ``after``."""
    query = query.order_by(at.desc(), ident.desc()).limit(limit)
    if after is not None:
        query = query.where(tuple_(at, ident) < tuple_(dt.datetime.fromisoformat(after[0]), uuid.UUID(after[1])))
    return query


def _link(row: EntityLink) -> dict[str, Any]:
    return {"id": str(row.id), "entity": row.entity, "left_record_id": str(row.left_record_id),
            "right_record_id": str(row.right_record_id), "match_key": row.match_key, "match_value": row.match_value,
            "created_at": _iso(row.created_at)}


def list_links(rt: Runtime, tenant_id: uuid.UUID, *, entity: str | None = None, record_id: uuid.UUID | None = None,
               after: tuple[str, str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Entity links (two records known to be one real thing) in (created_at, id) order."""
    query = (select(EntityLink).where(EntityLink.tenant_id == tenant_id)
             .order_by(EntityLink.created_at, EntityLink.id).limit(limit))
    if entity:
        query = query.where(EntityLink.entity == entity)
    if record_id is not None:
        query = query.where((EntityLink.left_record_id == record_id) | (EntityLink.right_record_id == record_id))
    if after is not None:
        query = query.where(tuple_(EntityLink.created_at, EntityLink.id)
                            > tuple_(dt.datetime.fromisoformat(after[0]), uuid.UUID(after[1])))
    with rt.db.tenant(tenant_id) as session:
        return [_link(r) for r in session.scalars(query)]


def one(rt: Runtime, tenant_id: uuid.UUID, table: Any, row_id: uuid.UUID, what: str) -> Any:
    """The tenant's row ``row_id`` of ``table``, read in its own transaction (NotFound otherwise)."""
    with rt.db.tenant(tenant_id) as session:
        row = session.scalar(select(table).where(table.tenant_id == tenant_id, table.id == row_id))
        if row is None:
            raise NotFound(f"no such {what}", tenant=tenant_id, id=row_id)
        session.expunge(row)
        return row


def get_link(rt: Runtime, tenant_id: uuid.UUID, link_id: uuid.UUID) -> dict[str, Any]:
    return _link(one(rt, tenant_id, EntityLink, link_id, "entity link"))


def _agent_run(row: AgentRun, full: bool) -> dict[str, Any]:
    out = {"id": str(row.id), "kind": row.kind, "model": row.model, "status": row.status,
           "cost_usd": float(row.cost_usd) if row.cost_usd is not None else None, "duration_ms": row.duration_ms,
           "tokens": row.tokens, "started_at": _iso(row.started_at), "finished_at": _iso(row.finished_at)}
    if full:  # inputs, outputs and evidence can be large: on the single run only
        out.update(inputs=row.inputs, outputs=row.outputs, evidence=row.evidence)
    return out


def list_agent_runs(rt: Runtime, tenant_id: uuid.UUID, *, kind: str | None = None,
                    after: tuple[str, str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Agent runs newest first (``started_at``, ``id``), without their inputs and outputs."""
    query = newest_first(select(AgentRun).where(AgentRun.tenant_id == tenant_id), AgentRun.started_at, AgentRun.id,
                         after, limit)
    if kind:
        query = query.where(AgentRun.kind == kind)
    with rt.db.tenant(tenant_id) as session:
        return [_agent_run(r, False) for r in session.scalars(query)]


def get_agent_run(rt: Runtime, tenant_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, Any]:
    return _agent_run(one(rt, tenant_id, AgentRun, run_id, "agent run"), True)


def _eval_run(row: EvalRun, full: bool) -> dict[str, Any]:
    out = {"id": str(row.id), "matcher": row.matcher, "model": row.model, "gold_files": row.gold_files,
           "pooled": (row.scores or {}).get("pooled"), "created_at": _iso(row.created_at)}
    if full:
        out["scores"] = row.scores
    return out


def list_eval_runs(rt: Runtime, tenant_id: uuid.UUID, *, after: tuple[str, str] | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
    """Eval runs newest first, with their pooled scores (per-file scores on the single run)."""
    query = newest_first(select(EvalRun).where(EvalRun.tenant_id == tenant_id), EvalRun.created_at, EvalRun.id,
                         after, limit)
    with rt.db.tenant(tenant_id) as session:
        return [_eval_run(r, False) for r in session.scalars(query)]


def get_eval_run(rt: Runtime, tenant_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, Any]:
    return _eval_run(one(rt, tenant_id, EvalRun, run_id, "eval run"), True)


def list_audit(rt: Runtime, tenant_id: uuid.UUID, *, action: str | None = None, target_type: str | None = None,
               target_id: str | None = None, actor: str | None = None, before_id: int | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    """Audit rows newest first (by ``id``); ``before_id`` resumes below the last row served."""
    query = select(AuditLog).where(AuditLog.tenant_id == tenant_id).order_by(AuditLog.id.desc()).limit(limit)
    for column, value in ((AuditLog.action, action), (AuditLog.target_type, target_type),
                          (AuditLog.target_id, target_id), (AuditLog.actor, actor)):
        if value:
            query = query.where(column == value)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    with rt.db.tenant(tenant_id) as session:
        return [{"id": r.id, "actor": r.actor, "action": r.action, "target_type": r.target_type,
                 "target_id": r.target_id, "before": r.before, "after": r.after, "at": _iso(r.at)}
                for r in session.scalars(query)]
