"""Live notifications on Redis pub/sub. The same facts are always in Postgres first, so a
listener that misses a message (or a flushed Redis) loses nothing but immediacy."""

from autonomos.notifications.pubsub import channel, publish, subscribe

__all__ = ["channel", "publish", "subscribe"]
