"""A live uvicorn server on loopback for streaming tests (Starlette's TestClient buffers a whole
response, so an endless stream needs a real server), and a small Server-Sent Events reader."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import uvicorn

from autonomos.api.routes.notifications import stopping
from tests.conftest import wait_for


@dataclass
class Event:
    id: int
    kind: str
    data: dict


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``app`` served by uvicorn in a thread at ``base``; ``stop`` ends open streams and the server."""

    def __init__(self, app) -> None:
        self.app = app
        self.base = f"http://127.0.0.1:{free_port()}"
        port = int(self.base.rsplit(":", 1)[1])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, name="live-api", daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        wait_for(lambda: self.server.started)
        return self

    def stop(self) -> None:
        stopping(self.app).set()
        self.server.should_exit = True
        self.thread.join(timeout=60)


def events(response: httpx.Response) -> Iterator[Event | str]:
    """Events of an open stream in order; comment lines come through as strings."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line.startswith(":"):
            yield line
        elif line == "":
            if "id" in fields:
                yield Event(int(fields["id"]), fields.get("event", "message"), orjson.loads(fields.get("data", "{}")))
            fields = {}
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def take(stream: Iterator[Event | str], count: int) -> list[Event]:
    """The next ``count`` events of ``stream`` (one ``events(response)`` iterator per response)."""
    out: list[Event] = []
    for item in stream:
        if isinstance(item, Event):
            out.append(item)
            if len(out) == count:
                return out
    raise AssertionError(f"the stream ended after {len(out)} of {count} events")
