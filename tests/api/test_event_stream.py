"""``GET /events/stream``: live notifications that survive a Redis FLUSHALL and a dropped
connection (``Last-Event-ID`` resumes from Postgres), tenant isolation, and a clean end when
the server shuts down."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid

import httpx
import pytest

from autonomos import notifications
from autonomos.api import create_app
from tests.api.sse import LiveServer, events, take
from tests.api.test_serve import _free_port, _wait_up
from tests.conftest import subprocess_env

STREAM_TIMEOUT = httpx.Timeout(60.0)  # a guard against a hung test, not a speed claim


@pytest.fixture(scope="module")
def live(rt):
    server = LiveServer(create_app(rt, listen_for_revocations=False)).start()
    yield server
    server.stop()


def _announce(rt, tenant, n: int, kind: str = "test.ping") -> list[int]:
    return [notifications.publish(rt, tenant, kind, {"n": i}) for i in range(n)]


def test_resume_with_last_event_id_after_a_redis_flushall(rt, live, make_tenant, key_for, redis_client):
    tenant = make_tenant("sse").id
    headers = key_for(tenant, "reader")
    first = _announce(rt, tenant, 2)
    with httpx.stream("GET", f"{live.base}/events/stream", params={"after": 0}, headers=headers,
                      timeout=STREAM_TIMEOUT) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        seen = take(events(response), 2)
    assert [e.id for e in seen] == first and {e.kind for e in seen} == {"test.ping"}
    assert seen[0].data["data"] == {"n": 0}

    # Disconnected; Redis loses everything; the platform goes on announcing.
    redis_client.flushall()
    missed = _announce(rt, tenant, 3, kind="sync.completed")
    redis_client.flushall()

    with httpx.stream("GET", f"{live.base}/events/stream", headers={**headers, "Last-Event-ID": str(seen[-1].id)},
                      timeout=STREAM_TIMEOUT) as response:
        stream = events(response)
        resumed = take(stream, 3)
        live_one = _announce(rt, tenant, 1, kind="mapping.published")  # and live again, after the flushes
        after = take(stream, 1)
    assert [e.id for e in resumed] == missed and [e.kind for e in resumed] == ["sync.completed"] * 3
    assert [e.id for e in after] == live_one and after[0].kind == "mapping.published"


def test_a_stream_carries_only_its_own_tenants_notifications(rt, live, make_tenant, key_for):
    a, b = make_tenant("sse-a").id, make_tenant("sse-b").id
    with httpx.stream("GET", f"{live.base}/events/stream", headers=key_for(a, "reader"),
                      timeout=STREAM_TIMEOUT) as response:
        others = _announce(rt, b, 3, kind="secret.of.b")
        mine = _announce(rt, a, 1)
        got = take(events(response), 1)
    assert [e.id for e in got] == mine and not set(others) & {e.id for e in got}
    # B resuming from 0 gets B's notifications only, never A's.
    with httpx.stream("GET", f"{live.base}/events/stream", params={"after": 0}, headers=key_for(b, "reader"),
                      timeout=STREAM_TIMEOUT) as response:
        got_b = take(events(response), 3)
    assert [e.id for e in got_b] == others


def test_the_stream_needs_a_key_and_a_readable_position(live, make_tenant, key_for):
    assert httpx.get(f"{live.base}/events/stream").status_code == 401
    bad = httpx.get(f"{live.base}/events/stream", headers={**key_for(make_tenant("sse").id, "reader"),
                                                           "Last-Event-ID": "yesterday"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def test_open_streams_end_cleanly_when_the_server_stops(settings, make_tenant, key_for, rt):
    tenant = make_tenant("sse-stop").id
    headers = key_for(tenant, "reader")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "autonomos.cli", "serve", "--port", str(port)],
                              env=subprocess_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(f"{base}/healthz", server)
        seq = _announce(rt, tenant, 1)[0]
        with httpx.stream("GET", f"{base}/events/stream", params={"after": seq - 1}, headers=headers,
                          timeout=STREAM_TIMEOUT) as response:
            stream = events(response)
            assert take(stream, 1)[0].id == seq
            server.send_signal(signal.SIGTERM)
            rest = list(stream)  # returns only if the server ends the stream
        assert all(isinstance(item, str) for item in rest)  # at most keepalive comments
        # Without the stream ending, the graceful shutdown would wait for it for ever. uvicorn
        # re-raises the signal once it has shut down, hence -SIGTERM rather than 0.
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()
