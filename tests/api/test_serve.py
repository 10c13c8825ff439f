"""``aos serve`` and ``aos apikey`` as an operator runs them: a real uvicorn on loopback,
a key created, listed and revoked through the CLI, one JSON log line per request with the
request id and key id and never the key itself."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from autonomos.cli.app import app
from tests.conftest import subprocess_env

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, server: subprocess.Popen) -> None:
    for _ in range(600):  # waiting for start-up, not a speed assertion
        if server.poll() is not None:
            raise AssertionError(server.stderr.read().decode())
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not start")


def test_serve_with_two_workers_and_a_key_made_by_the_cli(settings, make_tenant, tmp_path):
    env = subprocess_env(settings, COLUMNS="200")
    tenant = make_tenant("api")
    created = runner.invoke(app, ["apikey", "create", "--tenant", tenant.slug, "--role", "reader", "--name", "cli"],
                            env=env)
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("aos_")
    listed = runner.invoke(app, ["apikey", "list", "--tenant", tenant.slug], env=env)
    assert "reader" in listed.output and key not in listed.output

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "autonomos.cli", "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(f"{base}/healthz", server)
        assert httpx.get(f"{base}/readyz").status_code == 200
        response = httpx.get(f"{base}/connections", headers={"Authorization": f"Bearer {key}",
                                                             "X-Request-Id": "req-serve-1"})
        assert response.status_code == 200 and response.json() == {"items": [], "next_cursor": None}
        prefix = key.split("_")[1]
        revoked = runner.invoke(app, ["apikey", "revoke", prefix, "--tenant", tenant.slug], env=env)
        assert revoked.exit_code == 0, revoked.output
        # Revocation travels by Redis pub/sub to both workers, each with its own cache: wait until
        # a run of 20 requests (spread over both workers) is refused, not just the first worker's.
        statuses: set[int] = {200}
        for _ in range(50):
            statuses = {httpx.get(f"{base}/connections", headers={"Authorization": f"Bearer {key}"}).status_code
                        for _ in range(20)}
            if statuses == {401}:
                break
            time.sleep(0.1)
        assert statuses == {401}
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    logged = [entry for entry in lines if entry.get("request_id") == "req-serve-1"]
    assert logged and logged[-1]["status"] == 200 and logged[-1]["key_id"] and logged[-1]["route"] == "/connections"
    assert key not in err.decode() and key.split("_")[2] not in err.decode()
