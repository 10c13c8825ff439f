"""A token bucket per connection in Redis, shared by every worker that reads the connection.

One Lua script refills and takes a token atomically. A request that finds the bucket empty
still reserves its token (the count goes negative) and is told how long to wait, so callers
queue fairly without polling. Time comes from the caller's clock, which keeps tests free of
real sleeping. The key lives under the tenant's namespace with a TTL; losing it in a flush
merely resets the bucket to full.
"""

from __future__ import annotations

import redis

from autonomos.aam.connectors.rest.clock import Clock

BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate) else now = ts end
local wait = '0'
if ARGV[5] == 'try' then
  if tokens >= 1 then tokens = tokens - 1 else wait = tostring((1 - tokens) / rate) end
else
  tokens = tokens - 1
  if tokens < 0 then wait = tostring(-tokens / rate) end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return wait
"""
"""One refill for both kinds of caller. ``take`` reserves its token even when the bucket is
empty (the count goes negative) and returns the wait; ``try`` (the HTTP API's 429) takes a
token only when one is there, so a refused caller does not push the others' wait further."""


class TokenBucket:
    """``per_second`` tokens a second, at most ``burst`` saved up; ``acquire`` waits for one."""

    def __init__(self, client: redis.Redis, key: str, per_second: float, burst: int, clock: Clock) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("rate_limit needs per_second > 0 and burst >= 1")
        self.key, self.per_second, self.burst, self.clock = key, per_second, burst, clock
        self._script = client.register_script(BUCKET_SCRIPT)

    def acquire(self) -> float:
        """Take a token, sleeping (through the clock) until it is due; returns the wait."""
        wait = self._run("take")
        if wait > 0:
            self.clock.sleep(wait)
        return wait

    def try_acquire(self) -> float:
        """Take a token if one is there (0.0); else take none and return the seconds until one is."""
        return self._run("try")

    def _run(self, mode: str) -> float:
        return float(self._script(keys=[self.key], args=bucket_args(self.per_second, self.burst, self.clock.now(),
                                                                      mode)))


def bucket_args(per_second: float, burst: int, now: float, mode: str) -> list[float | int | str]:
    """``BUCKET_SCRIPT``'s arguments (the key expires once a full refill has long passed)."""
    return [per_second, burst, now, int((burst / per_second + 60) * 1000), mode]
