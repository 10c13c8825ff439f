"""Webhooks: an admin registers a URL for event kinds, deletes it and redelivers; any role reads
the webhooks and their delivery logs. The signing secret is in the creation response only."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from autonomos.api import idempotency
from autonomos.api.deps import RT, AdminTenant, Caller, Cursor, Limit, ReaderTenant
from autonomos.api.pagination import decode, encode, page_of
from autonomos.api.problems import ApiProblem
from autonomos.api.schemas import Strict
from autonomos.services import webhooks

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookCreate(Strict):
    url: str = Field(min_length=1, max_length=2048, description="http(s) URL; private addresses are refused "
                                                                "unless the deployment allows them.")
    kinds: list[str] = Field(default_factory=list, max_length=64,
                             description="Event kinds to send (e.g. `sync.completed`); empty: every kind.")
    description: str | None = Field(default=None, max_length=500)


@router.post("", status_code=201)
def create_webhook(body: WebhookCreate, rt: RT, who: Caller, tenant: AdminTenant) -> dict[str, Any]:
    """Register a webhook; ``secret`` (to verify ``X-AOS-Signature``) is in this response only.
    ``Idempotency-Key`` is not honoured here: a stored replay would keep the secret in clear."""
    info, secret = webhooks.create_webhook(rt, tenant, body.url, body.kinds, description=body.description,
                                           actor=who.actor)
    return {**asdict(info), "secret": secret}


@router.get("")
def list_webhooks(rt: RT, tenant: ReaderTenant, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    page = page_of(webhooks.list_webhooks(rt, tenant), lambda w: (w.created_at.isoformat(), str(w.id)),
                   cursor, limit)
    return {**page, "items": [asdict(w) for w in page["items"]]}


@router.get("/{webhook_id}")
def show_webhook(webhook_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return asdict(webhooks.get_webhook(rt, tenant, webhook_id))


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: uuid.UUID, rt: RT, who: Caller, tenant: AdminTenant) -> Response:
    webhooks.delete_webhook(rt, tenant, webhook_id, actor=who.actor)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries")
def list_deliveries(webhook_id: uuid.UUID, rt: RT, tenant: ReaderTenant, cursor: Cursor = None,
                    limit: Limit = 100) -> dict[str, Any]:
    """The delivery log, newest first: status, attempts, the last answer or error."""
    rows = webhooks.list_deliveries(rt, tenant, webhook_id, limit=limit + 1, before=_position(cursor))
    chunk = rows[:limit]
    more = len(rows) > limit
    return {"items": [asdict(d) for d in chunk],
            "next_cursor": encode([chunk[-1].created_at.isoformat(), str(chunk[-1].id)]) if more else None}


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202)
def redeliver(webhook_id: uuid.UUID, delivery_id: uuid.UUID, request: Request, rt: RT, who: Caller,
              tenant: AdminTenant):
    """Send a delivery again (same delivery id, a fresh day of retries); workers pick it up."""
    def work():
        return 202, asdict(webhooks.redeliver(rt, tenant, webhook_id, delivery_id, actor=who.actor))

    return idempotency.run(request, rt, who, {}, work)


def _position(cursor: str | None) -> tuple[dt.datetime, uuid.UUID] | None:
    after = decode(cursor)
    if after is None:
        return None
    try:
        created_at, delivery_id = after
        return dt.datetime.fromisoformat(created_at), uuid.UUID(delivery_id)
    except (TypeError, ValueError):
        raise ApiProblem(422, "the cursor is not one this server issued", kind="validation",
                         errors=[{"field": "query.cursor", "message": "invalid cursor", "type": "cursor"}]) from None
