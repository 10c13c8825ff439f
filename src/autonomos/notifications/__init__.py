"""Notifications: a Postgres log of each tenant's state changes (with webhook deliveries in the
same transaction), announced on Redis pub/sub after the commit. A listener that misses a Redis
message (or a flushed Redis) loses nothing but immediacy: it resumes from Postgres by ``seq``."""

from autonomos.notifications.log import envelope, latest_seq, notify, publish, read
from autonomos.notifications.pubsub import channel, subscribe

__all__ = ["channel", "envelope", "latest_seq", "notify", "publish", "read", "subscribe"]
