"""Real headless Chromium for the console: Debian's ``chromium`` (installed when missing, as
CI runs as root) driven by Playwright's Python package, against the API application served
by uvicorn on loopback in a thread of the test process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from autonomos.api import create_app


def chromium() -> str:
    """Debian's chromium, installed with apt-get when it is missing (never a browser download)."""
    found = shutil.which("chromium")
    if found is None:
        subprocess.run(["apt-get", "update"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("chromium")
    assert found, "chromium could not be installed (apt-get install chromium)"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_url(rt) -> Iterator[str]:
    """The API (with the console) served on 127.0.0.1 until the module's tests are done."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(rt, listen_for_revocations=False), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="console-test-server", daemon=True)
    thread.start()
    from tests.conftest import wait_for

    wait_for(lambda: server.started, timeout=60)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where page screenshots go: ``$AOS_SCREENSHOT_DIR`` when set, else pytest's tmp dir."""
    configured = os.environ.get("AOS_SCREENSHOT_DIR")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("console-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
