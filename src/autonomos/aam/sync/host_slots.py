"""Job slots per host: how many jobs the worker processes of one machine run at once.

Sync and apply jobs are CPU-bound here (reading, hashing, COPY, the writers' backends on the
same machine), so worker processes beyond the host's cores only make every running job
slower: measured on 2 cores, 4 workers landed 3 tenants' bulk 13-18% slower than 2. A
worker takes a slot before it takes a job and gives it back when the job ends; processes
beyond the slots stand by, blocked, and take over at once when a slot frees, a worker dies
(its lease lapses after the heartbeat timeout) or more jobs are waiting than slots are busy.

The slots are leases in one sorted set per host (member: worker id, score: expiry on the
Redis clock), renewed by a thread while held. Redis stays unauthoritative: after a flush
each holder's next renewal writes its lease again, and a worker that cannot reach Redis
runs its job without a slot (it could not have dequeued one anyway), it never stops work.
"""

from __future__ import annotations

import logging
import threading

import redis

logger = logging.getLogger(__name__)

_ACQUIRE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0
"""
"""Drop lapsed leases; take (or keep) a slot if the holder has one or one is free."""

_RENEW = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
"""
"""Extend the holder's lease, writing it again if a flush lost it (the job is running)."""


class HostSlots:
    """A lease on one of ``slots`` job slots of this host, for the worker ``holder``."""

    def __init__(self, client: redis.Redis, key: str, *, slots: int, holder: str, lease_s: float) -> None:
        if slots < 1:
            raise ValueError("a host needs at least one job slot")
        self.key, self.slots, self.holder = key, slots, holder
        self.lease_ms = max(int(lease_s * 1000), 1000)
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._client = client
        self._held = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._held.is_set()

    def try_acquire(self) -> bool:
        """Take a slot if one is free (or keep the one held); ``True`` also when Redis cannot be
        reached (fail open: Redis is never a reason to stop work)."""
        try:
            won = bool(self._acquire(keys=[self.key], args=[self.holder, self.slots, self.lease_ms]))
        except redis.RedisError as exc:
            logger.warning("job slots unreachable, working without one: %s", exc)
            won = True
        if won:
            self._held.set()
            self._start_renewer()
        return won

    def release(self) -> None:
        """Give the slot back (a lost Redis only means the lease lapses by itself)."""
        with self._lock:  # a renewal in flight must not write the lease again after this
            self._held.clear()
            try:
                self._client.zrem(self.key, self.holder)
            except redis.RedisError as exc:
                logger.warning("could not give a job slot back; its lease lapses: %s", exc)

    def close(self) -> None:
        self._stop.set()
        if self.held:
            self.release()

    def _start_renewer(self) -> None:
        if self._renewer is not None:
            return
        self._renewer = threading.Thread(target=self._keep_leases, name="job-slot-lease", daemon=True)
        self._renewer.start()

    def _keep_leases(self) -> None:
        while not self._stop.wait(self.lease_ms / 4000):
            with self._lock:
                if not self.held:
                    continue
                try:
                    self._renew(keys=[self.key], args=[self.holder, self.lease_ms])
                except redis.RedisError as exc:
                    logger.warning("could not renew a job slot lease: %s", exc)
