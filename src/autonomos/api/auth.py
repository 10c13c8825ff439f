"""Bearer keys: verification with a short in-process cache, roles, revocation, rate limits.

argon2 verification is slow on purpose (~160 ms), so a verified key is cached for
``CACHE_TTL`` seconds under a SHA-256 of the key (the key itself is never kept). Revocation
is announced on a Redis channel that every server process listens to, which drops the
entry within moments; if Redis is unavailable the entry still expires with its TTL. An entry
past half its TTL is renewed in the background while it keeps serving, by reading its row
again (revoked or gone drops it; no argon2: the key matched that row's hash already): when
entries simply expired, every request of a busy key waited for a new argon2 verification (a
worker's whole queue stalled ~160 ms of CPU, the API benchmark's p99), and a revoked key
still stops working within one TTL.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import uuid

import structlog
from fastapi import Request
from prometheus_client import Counter
from redis.commands.core import AsyncScript
from starlette.concurrency import run_in_threadpool

from autonomos.aam.connectors.rest.ratelimit import BUCKET_SCRIPT, bucket_args
from autonomos.api.problems import ApiProblem
from autonomos.engines import redis as redis_engine
from autonomos.runtime import Runtime
from autonomos.services import apikeys
from autonomos.services.apikeys import Principal, Role

logger = logging.getLogger(__name__)

CACHE_TTL = 30.0
REFUSAL_TTL = 10.0
MAX_REFUSALS = 100_000
DEFAULT_RATE = (50.0, 100)
"""Requests a second and burst per key, unless the tenant's settings say otherwise
(``api_rate_limit: {"per_second": .., "burst": ..}``)."""

RATE_LIMIT_OPEN = Counter("aos_api_rate_limit_fail_open_total",
                          "Requests let through because the rate limiter's Redis was unreachable")


class KeyCache:
    """Verified principals by SHA-256 of the key, each for ``ttl`` seconds."""

    def __init__(self, ttl: float = CACHE_TTL) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._refusals: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def fingerprint(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def get(self, key: str) -> Principal | None:
        return self.lookup(key)[0]

    def lookup(self, key: str) -> tuple[Principal | None, bool]:
        """(the cached principal or None, whether it is past half its TTL and due a new verification)."""
        fp = self.fingerprint(key)
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(fp)
            if entry is None:
                return None, False
            if entry[0] < now:
                del self._entries[fp]
                return None, False
            return entry[1], entry[0] - now < self.ttl / 2

    def drop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(self.fingerprint(key), None)

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            self._entries[self.fingerprint(key)] = (time.monotonic() + self.ttl, principal)

    def refused(self, key: str) -> bool:
        """Whether ``key`` failed verification in the last ``REFUSAL_TTL`` seconds: a wrong
        secret under a real prefix would otherwise cost an argon2 verification per request."""
        fp = self.fingerprint(key)
        with self._lock:
            until = self._refusals.get(fp)
            if until is not None and until < time.monotonic():
                del self._refusals[fp]
                return False
            return until is not None

    def refuse(self, key: str) -> None:
        with self._lock:
            if len(self._refusals) >= MAX_REFUSALS:
                self._refusals.clear()
            self._refusals[self.fingerprint(key)] = time.monotonic() + REFUSAL_TTL

    def forget(self, key_id: uuid.UUID | str) -> None:
        with self._lock:
            for fp in [fp for fp, (_, p) in self._entries.items() if str(p.key_id) == str(key_id)]:
                del self._entries[fp]


class RevocationListener:
    """A daemon thread that forgets revoked keys as their revocation is announced."""

    def __init__(self, rt: Runtime, cache: KeyCache) -> None:
        self.rt, self.cache = rt, cache
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aos-key-revocations", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = self.rt.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(apikeys.revocation_channel(self.rt))
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        data = message["data"]
                        self.cache.forget(data.decode() if isinstance(data, bytes) else data)
                pubsub.close()
            except Exception:  # noqa: BLE001 - Redis down: the cache TTL is the fallback
                logger.warning("revocation listener lost Redis; retrying", exc_info=True)
                self._stop.wait(2.0)


async def _verify_once(state, key: str, known: Principal | None = None) -> Principal | None:
    """Verify ``key`` (argon2, in the threadpool; or, renewing ``known``, only its row's
    revocation, see ``apikeys.recheck_key``) and cache the outcome. Requests that arrive with
    the same key while it is being verified wait for that one verification: a burst of new
    clients would otherwise cost an argon2 verification each."""

    def verify() -> Principal | None:
        found = apikeys.recheck_key(state.rt, key, known) if known else apikeys.verify_key(state.rt, key)
        if found is None:
            state.key_cache.drop(key)
            state.key_cache.refuse(key)
        else:
            state.key_cache.put(key, found)
        return found

    loop = asyncio.get_running_loop()
    pending: dict[tuple[int, str], asyncio.Future] = state.key_verifications
    slot = (id(loop), KeyCache.fingerprint(key))
    future = pending.get(slot)
    if future is None:
        future = pending[slot] = asyncio.ensure_future(run_in_threadpool(verify))
        future.add_done_callback(lambda _: pending.pop(slot, None))
    return await asyncio.shield(future)


_refreshing: set[asyncio.Task] = set()


def _background(work) -> None:
    """Run ``work`` on the loop without waiting for it (kept referenced until done; its errors
    are logged: a failed refresh leaves the entry to expire with its TTL)."""
    task = asyncio.ensure_future(work)
    _refreshing.add(task)
    task.add_done_callback(_refreshed)


def _refreshed(task: asyncio.Task) -> None:
    _refreshing.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("background key verification failed", exc_info=task.exception())


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiProblem(401, "an API key is required: Authorization: Bearer <key>", kind="unauthorized",
                         headers={"WWW-Authenticate": "Bearer"})
    return key.strip()


async def principal(request: Request) -> Principal:
    """The verified key of this request, bound into the log context (ids only); asked again
    within the same request, the same answer (verified and rate-limited once)."""
    known = request.scope.get("state", {}).get("principal")
    if known is not None:
        return known
    key = _bearer(request)
    state = request.app.state
    found, due = state.key_cache.lookup(key)
    if found is None and not state.key_cache.refused(key):
        found = await _verify_once(state, key)
    elif due:  # verified again in the background; this request goes on with the cached one
        _background(_verify_once(state, key, found))
    if found is None:
        raise ApiProblem(401, "the API key is unknown or revoked", kind="unauthorized",
                         headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = found
    structlog.contextvars.bind_contextvars(key_id=str(found.key_id), tenant_id=str(found.tenant_id))
    await state.rate_limiter.check(found)
    return found


class RateLimiter:
    """Per-key token buckets in Redis (the REST connectors' bucket script), asked from the
    event loop: an asyncio Redis client, so a request costs no hop to the threadpool for it.

    A client belongs to one event loop; a new loop (a test client's) gets a new one."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._loop: asyncio.AbstractEventLoop | None = None
        self._script: AsyncScript | None = None

    def _bucket(self) -> AsyncScript:
        loop = asyncio.get_running_loop()
        if self._script is None or self._loop is not loop:
            self._script = redis_engine.connect_async(self.rt.redis_url).register_script(BUCKET_SCRIPT)
            self._loop = loop
        return self._script

    async def check(self, who: Principal) -> None:
        """Take a token from the key's bucket, or refuse with 429; lets the request through
        (logged and counted) when Redis cannot answer: Redis is never a reason to refuse service."""
        per_second, burst = rt_rate(self.rt, who)
        key = (self.rt.keys.tenant(who.tenant_id, "api", "rate", who.key_id) if who.tenant_id
               else self.rt.keys.platform("api", "rate", who.key_id))
        try:
            wait = float(await self._bucket()(keys=[key], args=bucket_args(per_second, burst, time.time(), "try")))
        except Exception:  # noqa: BLE001 - fail open
            RATE_LIMIT_OPEN.inc()
            logger.warning("rate limiter unavailable; letting the request through")
            return
        if wait > 0:
            raise ApiProblem(429, "rate limit exceeded for this API key", kind="rate-limited",
                             headers={"Retry-After": str(max(1, int(wait + 0.999)))})


def rt_rate(rt: Runtime, who: Principal) -> tuple[float, int]:
    """The key's (per second, burst): the tenant's ``api_rate_limit`` setting or the default."""
    return who.rate or DEFAULT_RATE


def tenant_of(who: Principal) -> uuid.UUID:
    if who.tenant_id is None:
        raise ApiProblem(403, "a platform key reads no tenant data", kind="forbidden")
    return who.tenant_id


def require(who: Principal, role: Role) -> uuid.UUID:
    """The key's tenant, if its role is at least ``role``."""
    tenant = tenant_of(who)
    if not who.may(role):
        raise ApiProblem(403, f"this action needs the {role} role", kind="forbidden")
    return tenant
