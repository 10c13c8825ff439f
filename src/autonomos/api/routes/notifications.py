"""``GET /events/stream``: the tenant's notifications as Server-Sent Events.

Postgres is the source, Redis the doorbell. The stream subscribes to the tenant's channel
first, then serves every notification after ``Last-Event-ID`` (or ``after``) from the log,
up to the visibility watermark; each Redis message only says "read again". So a client that
reconnects with the last ``id:`` it saw gets exactly what it missed, in ``seq`` order, and a
flushed or unreachable Redis only slows the stream down to a poll. A comment line every
``KEEPALIVE_S`` keeps proxies from closing an idle stream; the stream ends by itself when the
client goes away or the server is told to stop (``stop_on_signals``).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import uuid
from collections.abc import AsyncIterator

import orjson
import redis.asyncio as aioredis
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from autonomos.api.deps import RT, ReaderTenant
from autonomos.api.problems import ApiProblem
from autonomos.notifications import channel, latest_seq, read
from autonomos.runtime import Runtime

logger = logging.getLogger(__name__)
router = APIRouter(tags=["notifications"])

KEEPALIVE_S = 15.0
POLL_S = 2.0
"""Without Redis (unreachable, or the subscription lost), Postgres is polled this often."""
TICK_S = 0.5
"""How often a waiting stream looks at the client and at the server's stop flag."""
PAGE = 500
RETRY_MS = 3000


def stopping(app: FastAPI) -> threading.Event:
    """Set when the server shuts down: every open stream then ends after its current tick."""
    if not hasattr(app.state, "sse_stopping"):
        app.state.sse_stopping = threading.Event()
    return app.state.sse_stopping


def stop_on_signals(app: FastAPI) -> None:
    """Chain SIGTERM/SIGINT (uvicorn's handlers, installed before the app is built) so open
    streams end at once instead of holding the graceful shutdown open. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return
    flag = stopping(app)
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(signum, frame, previous=previous):
            flag.set()
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)


@router.get("/events/stream", response_class=StreamingResponse, responses={200: {
    "content": {"text/event-stream": {}}, "description": "Notifications: `id:` is the seq, `event:` the kind."}})
async def stream_events(request: Request, rt: RT, tenant: ReaderTenant,
                        last_event_id: str | None = Header(default=None, alias="Last-Event-ID"),
                        after: int | None = Query(default=None, ge=0, description=(
                            "Start after this seq (``Last-Event-ID`` wins when both are given); "
                            "default: only what happens from now on."))) -> StreamingResponse:
    """The tenant's state changes as they happen (sync, quarantine, proposals, mappings, drift)."""
    start = _start(last_event_id, after)
    if start is None:
        start = await run_in_threadpool(_latest, rt, tenant)
    return StreamingResponse(_events(request, rt, tenant, start), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _start(last_event_id: str | None, after: int | None) -> int | None:
    if last_event_id is not None:
        try:
            value = int(last_event_id.strip())
        except ValueError:
            value = -1
        if value < 0:
            raise ApiProblem(422, "Last-Event-ID must be a notification seq (a non-negative integer)",
                             kind="validation", errors=[{"field": "header.Last-Event-ID",
                                                         "message": "not a seq", "type": "int"}])
        return value
    return after


def _latest(rt: Runtime, tenant: uuid.UUID) -> int:
    """Where a client without a position starts: after the last visible notification."""
    with rt.db.tenant(tenant) as session:
        return latest_seq(session, tenant)


def _read(rt: Runtime, tenant: uuid.UUID, after: int) -> list[dict]:
    with rt.db.tenant(tenant) as session:
        return read(session, tenant, after=after, limit=PAGE)


def frame(item: dict) -> bytes:
    return (f"id: {item['seq']}\nevent: {item['type']}\n".encode()
            + b"data: " + orjson.dumps(item) + b"\n\n")


async def _events(request: Request, rt: Runtime, tenant: uuid.UUID, last: int) -> AsyncIterator[bytes]:
    doorbell = _Doorbell(rt, tenant)
    flag = stopping(request.app)
    try:
        await doorbell.open()
        yield f"retry: {RETRY_MS}\n\n".encode()
        while True:
            items = await run_in_threadpool(_read, rt, tenant, last)
            for item in items:
                yield frame(item)
                last = item["seq"]
            if len(items) == PAGE:
                continue
            waited = 0.0
            behind = doorbell.heard > last  # Redis told of a row the watermark does not show yet
            limit = TICK_S if behind else (KEEPALIVE_S if doorbell.live else POLL_S)
            rang = False
            while waited < limit and not rang:
                if flag.is_set() or await request.is_disconnected():
                    return
                rang = await doorbell.wait(min(TICK_S, limit - waited))
                waited += TICK_S
            if not rang and limit == KEEPALIVE_S:
                yield b": keepalive\n\n"
    finally:
        await doorbell.close()


class _Doorbell:
    """The tenant's Redis channel, read without blocking the event loop; re-subscribes after a
    lost connection, and says ``live`` False meanwhile so the stream polls Postgres."""

    def __init__(self, rt: Runtime, tenant: uuid.UUID) -> None:
        self.url, self.channel = rt.redis_url, channel(rt, tenant)
        self.client: aioredis.Redis | None = None
        self.pubsub = None
        self.heard = 0
        self.retry_at = 0.0

    @property
    def live(self) -> bool:
        return self.pubsub is not None

    async def open(self) -> None:
        self.retry_at = asyncio.get_running_loop().time() + POLL_S
        try:
            self.client = aioredis.Redis.from_url(self.url)
            self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            await self.pubsub.subscribe(self.channel)
        except Exception:  # Redis is never a reason to refuse a stream: poll Postgres instead
            logger.warning("event stream without Redis; polling Postgres", exc_info=True)
            await self.close()

    async def wait(self, timeout: float) -> bool:
        """True when a message arrived within ``timeout`` seconds."""
        if self.pubsub is None:
            await asyncio.sleep(timeout)
            if asyncio.get_running_loop().time() >= self.retry_at:
                await self.open()
            return False
        try:
            message = await self.pubsub.get_message(timeout=timeout)
        except Exception:
            logger.warning("event stream lost Redis; polling Postgres", exc_info=True)
            await self.close()
            return False
        if message is None:
            return False
        try:
            self.heard = max(self.heard, int(orjson.loads(message["data"]).get("seq") or 0))
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            pass
        return True

    async def close(self) -> None:
        pubsub, client, self.pubsub, self.client = self.pubsub, self.client, None, None
        try:
            if pubsub is not None:
                await pubsub.aclose()
            if client is not None:
                await client.aclose()
        except Exception:
            pass
