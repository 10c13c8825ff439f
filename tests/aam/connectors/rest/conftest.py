"""A local HTTP server standing in for the vendors' APIs, a clock that records waits, and
connections whose connector context is the real one (Redis, cipher, credentials saver)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from autonomos.services import connections

CASES = Path(__file__).parent / "cases"


def case(name: str, **values: str) -> Any:
    """A recorded vendor response; ``{name}`` placeholders are filled in."""
    text = (CASES / name).read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


Reply = tuple[int, dict[str, str], Any]


@dataclass
class Vendor:
    """The server: ``app`` answers each request; every request is kept in ``requests``."""

    base: str
    app: Callable[[Request], Reply] = lambda r: (404, {}, {"error": "no route"})
    requests: list[Request] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


@pytest.fixture
def vendor():
    holder: dict[str, Vendor] = {}

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, parts.path, dict(parse_qsl(parts.query)),
                              {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
            server = holder["vendor"]
            server.requests.append(request)
            status, headers, body = server.app(request)
            data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["vendor"] = Vendor(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield holder["vendor"]
    httpd.shutdown()
    httpd.server_close()


class FakeClock:
    """Time that moves only when something waits; ``sleeps`` lists every wait."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def connection(rt, make_tenant):
    """Create a connection and return (tenant id, info, context): the real connector context."""

    def create(provider: str, config: dict[str, Any], credentials: dict[str, Any] | None = None):
        tenant = make_tenant("rest")
        info = connections.create_connection(rt, tenant.id, provider=provider, name=f"{provider}-{uuid.uuid4().hex[:6]}",
                                             config=config, credentials=credentials, actor="test")
        return tenant.id, info, connections.connector_context(rt, tenant.id, info)

    return create
