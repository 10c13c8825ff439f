"""What happened: the change log, entity links, agent runs, eval runs and the audit log (reads)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query

from autonomos.api.deps import RT, AdminTenant, Cursor, Limit, ReaderTenant
from autonomos.api.models import AgentRun, AuditRow, Change, EntityLink, EvalRun, Page
from autonomos.api.pagination import keyset_page, number, pair
from autonomos.services import history

router = APIRouter(tags=["history"])

Name = Query(default=None, max_length=200)


@router.get("/changes", response_model=Page[Change])
def list_changes(rt: RT, tenant: ReaderTenant, entity: str | None = Name, record_id: uuid.UUID | None = None,
                 cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Changes to canonical records in the order they were written."""
    rows = history.list_changes(rt, tenant, entity=entity, record_id=record_id, after=number(cursor), limit=limit + 1)
    return keyset_page(rows, limit, lambda c: c["id"])


@router.get("/entity-links", response_model=Page[EntityLink])
def list_links(rt: RT, tenant: ReaderTenant, entity: str | None = Name, record_id: uuid.UUID | None = None,
               cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Pairs of canonical records known to be one real thing, and the key that says so."""
    rows = history.list_links(rt, tenant, entity=entity, record_id=record_id, after=pair(cursor), limit=limit + 1)
    return keyset_page(rows, limit, lambda r: [r["created_at"], r["id"]])


@router.get("/entity-links/{link_id}", response_model=EntityLink)
def show_link(link_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return history.get_link(rt, tenant, link_id)


@router.get("/agent-runs", response_model=Page[AgentRun])
def list_agent_runs(rt: RT, tenant: ReaderTenant, kind: str | None = Query(default=None, max_length=32),
                    cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Matcher, repair and reranker runs, newest first (inputs, outputs and evidence on the single run)."""
    rows = history.list_agent_runs(rt, tenant, kind=kind, after=pair(cursor), limit=limit + 1)
    return keyset_page(rows, limit, lambda r: [r["started_at"], r["id"]])


@router.get("/agent-runs/{agent_run_id}", response_model=AgentRun)
def show_agent_run(agent_run_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return history.get_agent_run(rt, tenant, agent_run_id)


@router.get("/eval-runs", response_model=Page[EvalRun])
def list_eval_runs(rt: RT, tenant: ReaderTenant, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Matcher evaluations against gold files (``aos eval``), newest first, with pooled scores."""
    rows = history.list_eval_runs(rt, tenant, after=pair(cursor), limit=limit + 1)
    return keyset_page(rows, limit, lambda r: [r["created_at"], r["id"]])


@router.get("/eval-runs/{eval_run_id}", response_model=EvalRun)
def show_eval_run(eval_run_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return history.get_eval_run(rt, tenant, eval_run_id)


@router.get("/audit-log", response_model=Page[AuditRow])
def list_audit(rt: RT, tenant: AdminTenant, action: str | None = Query(default=None, max_length=64),
               target_type: str | None = Query(default=None, max_length=32), target_id: str | None = Name,
               actor: str | None = Name, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Who changed what and when, newest first (admin role)."""
    rows = history.list_audit(rt, tenant, action=action, target_type=target_type, target_id=target_id, actor=actor,
                              before_id=number(cursor), limit=limit + 1)
    return keyset_page(rows, limit, lambda r: r["id"])
