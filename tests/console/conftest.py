"""The console under test: the real API application (which mounts the console) over the
session's runtime, driven through Starlette's TestClient over https (the session cookie is
``Secure``); two tenants, each with a synced file connection and an open review queue."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from autonomos.api import create_app
from autonomos.services import apikeys, connections, review, sync, tenants
from autonomos.services.worker import run_worker
from tests.conftest import tenant_files

CSV = ("Id,FirstName,LastName,Email,Title,Phone\n"
       "0031,Ada,Lovelace, Ada@Example.com ,CTO,+44 20 7946 0001\n"
       "0032,Grace,Hopper,grace@navy.mil,Rear Admiral,+1 202 555 0102\n"
       "0033,Alan,Turing,alan@example.org,Researcher,+44 20 7946 0003\n")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN = re.compile(r'name="login_token" value="([^"]+)"')


@dataclass
class Tenant:
    id: uuid.UUID
    connection_id: str
    path: Path
    keys: dict[str, str]
    key_ids: dict[str, uuid.UUID]


def new_tenant(rt, prefix: str, csv: str = CSV) -> Tenant:
    """A tenant with a file connection ``crm`` (stream ``contacts``, not synced yet) and one key of every role."""
    tenant = tenants.create_tenant(rt, f"{prefix}-{uuid.uuid4().hex[:8]}", actor="test").id
    path = tenant_files(rt, tenant) / "contacts.csv"
    path.write_text(csv)
    conn = connections.create_connection(rt, tenant, provider="files", name="crm", actor="test",
                                         config={"path": str(path), "stream": "contacts", "primary_key": ["Id"]})
    keys, key_ids = {}, {}
    for role in ("reader", "reviewer", "admin"):
        info, key = apikeys.create_key(rt, tenant, role, name=f"{role} console", actor="test")
        keys[role], key_ids[role] = key, info.id
    return Tenant(tenant, conn.id, path, keys, key_ids)


def seed_tenant(rt, prefix: str, csv: str = CSV) -> Tenant:
    """``new_tenant``, synced, with the matcher's proposals open for review."""
    made = new_tenant(rt, prefix, csv)
    sync.start_sync(rt, made.id, "crm", actor="test")
    run_worker(rt, burst=True)
    review.propose_stream(rt, made.id, "crm", "contacts", actor="test")
    return made


@pytest.fixture(scope="module")
def app(rt):
    return create_app(rt, listen_for_revocations=False)


@pytest.fixture(scope="module")
def tenant_a(rt) -> Tenant:
    return seed_tenant(rt, "console-a")


@pytest.fixture(scope="module")
def tenant_b(rt) -> Tenant:
    """Like A, with one malformed source row in quarantine (too many columns)."""
    return seed_tenant(rt, "console-b", CSV + "0034,Bad,Row,bad@example.com,Clerk,+1 202 555 0104,extra\n")


def new_client(app) -> TestClient:
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False, follow_redirects=False)


def sign_in(client: TestClient, key: str):
    """Sign in through the form; the response of the POST."""
    page = client.get("/console/login")
    token = LOGIN.search(page.text).group(1)
    return client.post("/console/login", data={"key": key, "login_token": token})


def csrf_of(client: TestClient, path: str = "/console/connections") -> str:
    return CSRF.search(client.get(path).text).group(1)


@pytest.fixture
def signed_in(app):
    """``signed_in(key)``: a client with a live console session for ``key``."""

    def make(key: str) -> TestClient:
        client = new_client(app)
        response = sign_in(client, key)
        assert response.status_code == 303, response.text
        return client

    return make
