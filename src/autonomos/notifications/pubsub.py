"""The Redis side of notifications: one channel per tenant, rung after the Postgres commit.

A message is only a faster way to learn of a row already committed to the notification log
(``notifications.log``); a listener that misses one (or a flushed Redis) loses nothing but
immediacy, because every reader resumes from Postgres by ``seq``.
"""

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


def ring(rt, tenant_id: uuid.UUID | str, message: dict[str, Any]) -> None:
    """Best effort: a Redis outage must not fail the work the message describes."""
    try:
        rt.redis.publish(channel(rt, tenant_id), orjson.dumps(message, default=str))
    except (redis.RedisError, EngineUnavailable):
        logger.warning("could not publish %s", message.get("type"), exc_info=True)


def subscribe(rt, tenant_id: uuid.UUID | str) -> redis.client.PubSub:
    pubsub = rt.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(rt, tenant_id))
    return pubsub
