"""What the isolation checker listens with while the load runs: ``aos serve`` as a process, one
Server-Sent Events reader per tenant (its own API key), and a webhook receiver on 127.0.0.1
that keeps every delivery by the path its tenant registered."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """``aos serve`` on a free loopback port, stopped with SIGTERM."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "autonomos.cli", "serve", "--port", str(self.port)],
                                        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"aos serve did not come up (log: {log})")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


class EventTap(threading.Thread):
    """Reads a tenant's ``/events/stream`` for as long as the load runs, reconnecting with the
    last id it saw (a read timeout is how it notices it should stop)."""

    def __init__(self, api_url: str, key: str) -> None:
        super().__init__(name="sse-tap", daemon=True)
        self.url, self.headers = f"{api_url}/events/stream", {"Authorization": f"Bearer {key}"}
        self.lines: list[str] = []
        self.events = 0
        self.halt = threading.Event()

    def run(self) -> None:
        last: str | None = None
        with httpx.Client(timeout=httpx.Timeout(10.0, read=2.0)) as client:
            while not self.halt.is_set():
                headers = {**self.headers, **({"Last-Event-ID": last} if last else {})}
                try:
                    with client.stream("GET", self.url, headers=headers) as response:
                        for line in response.iter_lines():
                            self.lines.append(line)
                            if line.startswith("id:"):
                                last, self.events = line[3:].strip(), self.events + 1
                            if self.halt.is_set():
                                break
                except httpx.HTTPError:
                    time.sleep(0.2)

    def stop(self) -> str:
        self.halt.set()
        self.join(timeout=10)
        return "\n".join(self.lines)


class HookReceiver:
    """A webhook receiver on 127.0.0.1: every POST body, kept by request path."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[str]] = {}
        lock = threading.Lock()
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
                with lock:
                    bodies.setdefault(self.path, []).append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, name="hook-receiver", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
