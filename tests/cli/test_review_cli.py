"""``aos propose``, ``aos review``, ``aos mapping``, ``aos events`` and ``aos records`` as a person runs them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from autonomos.cli.app import app
from tests.cli.test_cli import _env
from tests.dcl.apply.conftest import make_source

runner = CliRunner()


def test_propose_review_publish_and_read(rt, make_tenant, database_url, redis_url, namespace, tmp_path):
    tenant = make_tenant("cli")
    source = make_source(rt, tenant.id, "crm", "contacts", "Id")
    source.land({"Id": "c1", "Email": "ada@example.com", "FirstName": "Ada", "LastName": "Lovelace"},
                {"Id": "c2", "Email": "alan@example.com", "FirstName": "Alan", "LastName": "Turing"})
    env = _env(database_url, redis_url, namespace, tmp_path)
    t = ["--tenant", tenant.slug]

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, *t], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert "proposals queued" in run("propose", "crm", "--stream", "contacts")
    assert "auto proposals accepted" in run("review", "accept-auto", "crm")
    for line in run("review", "list", "--stream", "contacts").splitlines():
        if "contacts" in line:
            proposal = line.split("│")[1].strip()
            assert "rejected" in run("review", "reject", proposal, "--comment", "not needed")
    assert "published version 1" in run("mapping", "publish", "crm", "--stream", "contacts")
    assert "contact" in run("mapping", "list")
    events = [json.loads(line) for line in run("events", "read", "--entity", "contact").splitlines()
              if line.startswith("{")]
    assert [e["record_key"] for e in events] == ["c1", "c2"]
    assert events[0]["data"]["email"] == "ada@example.com"
    listed = run("records", "list", "contact", "--where", "first_name=Ada")
    # Names, not keys: a record id (a UUID) may contain "c2" by chance.
    assert "Lovelace" in listed and "Turing" not in listed
    assert "unified contact" in run("records", "show", events[0]["record_id"])
