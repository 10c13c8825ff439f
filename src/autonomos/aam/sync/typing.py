"""Vocabulary of the sync engine."""

from __future__ import annotations

from typing import Literal

RunStatus = Literal["pending", "running", "paused", "succeeded", "failed", "abandoned", "cancelled"]
"""``pending``/``running``/``paused`` are active (at most one per connection); the rest are final."""

ACTIVE_STATUSES: tuple[RunStatus, ...] = ("pending", "running", "paused")

RunControl = Literal["cancel", "pause"]
"""What a person asked of a running run; the worker obeys between batches."""

EventType = Literal["sync.started", "sync.completed", "sync.failed", "sync.retrying", "sync.abandoned",
                    "sync.cancelled", "sync.paused"]
