"""Publishing and subscribing to events such as ``sync.started`` / ``sync.completed``."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
import redis

from autonomos.errors import EngineUnavailable

logger = logging.getLogger(__name__)


def channel(rt, tenant_id: uuid.UUID | str) -> str:
    """One channel per tenant, so a listener can never receive another tenant's events."""
    return rt.keys.tenant(tenant_id, "events")


def publish(rt, tenant_id: uuid.UUID | str, event: str, payload: dict[str, Any]) -> None:
    """Best effort: a Redis outage must not fail the work the event describes."""
    message = orjson.dumps({"type": event, "tenant_id": str(tenant_id), **payload}, default=str)
    try:
        rt.redis.publish(channel(rt, tenant_id), message)
    except (redis.RedisError, EngineUnavailable):
        logger.warning("could not publish %s", event, exc_info=True)


def subscribe(rt, tenant_id: uuid.UUID | str) -> redis.client.PubSub:
    pubsub = rt.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(rt, tenant_id))
    return pubsub
