"""``aos propose``, ``aos review``, ``aos mapping``, ``aos events`` and ``aos records`` as a person runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from autonomos.cli.app import app
from autonomos.services import mappings as mapping_service
from autonomos.services import review as review_service
from autonomos.services import vectors
from autonomos.store import migrate
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


def _cli(env, tenant_slug):
    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--tenant", tenant_slug], env=env)
        assert result.exit_code == 0, result.output
        return result.output
    return run


def _queue(rt, tenant_id, connection: str) -> dict:
    return {p.source_field: p for p in review_service.list_queue(rt, tenant_id, connection=connection, status=None)}


def test_review_edit_splits_a_full_name_and_publish_yields_both_fields(rt, make_tenant, database_url, redis_url,
                                                                       namespace, tmp_path):
    tenant = make_tenant("cli-split")
    source = make_source(rt, tenant.id, "crm", "contacts", "Id")
    source.land({"Id": "c1", "Email": "ada@example.com", "FullName": "Ada Lovelace"},
                {"Id": "c2", "Email": "alan@example.com", "FullName": "Alan Mathison Turing"})
    run = _cli(_env(database_url, redis_url, namespace, tmp_path), tenant.slug)
    run("propose", "crm", "--stream", "contacts")
    run("review", "accept-auto", "crm")
    full_name = _queue(rt, tenant.id, "crm")["FullName"].id

    bad = runner.invoke(app, ["review", "edit", str(full_name), "--split", " ", "--field", "contact.first_name",
                              "--tenant", tenant.slug], env=_env(database_url, redis_url, namespace, tmp_path))
    assert bad.exit_code != 0 and "two or more --field" in bad.output
    edited = run("review", "edit", str(full_name), "--split", " ", "--field", "contact.first_name",
                 "--field", "contact.last_name", "--transform", '{"op": "trim"}', "--comment", "full name")
    assert "accepted (-> contact.first_name, contact.last_name)" in edited
    shown = run("review", "show", str(full_name))
    assert "FullName -> contact.first_name [split" in shown and "FullName -> contact.last_name [split" in shown
    for p in review_service.list_queue(rt, tenant.id, connection="crm"):
        run("review", "reject", str(p.id), "--field", f"{p.candidates[0]['entity']}.{p.candidates[0]['field']}")

    assert "published version 1" in run("mapping", "publish", "crm", "--stream", "contacts")
    listed = run("mapping", "list", "--fields")  # (stored as JSONB: keys come back sorted)
    assert 'FullName -> first_name [split {"part": 0, "separator": " "}, trim]' in listed
    assert 'FullName -> last_name [split {"part": "rest", "separator": " "}, trim]' in listed
    assert {k: (r["first_name"], r["last_name"]) for k, r in source.records("contact").items()} == {
        "c1": ("Ada", "Lovelace"), "c2": ("Alan", "Mathison Turing")}


def test_review_show_prints_the_nearest_approved_and_rejected_examples(rt, make_tenant, database_url, redis_url,
                                                                       namespace, tmp_path):
    if not (migrate.pgvector_available(database_url) and migrate.state(database_url, migrate.VECTORS).at_head):
        pytest.skip("this PostgreSQL has no pgvector extension, so there is no vector store for memory")
    tenant = make_tenant("cli-mem")
    rows = [{"Id": "c1", "Email": "ada@example.com", "Title": "Countess"},
            {"Id": "c2", "Email": "alan@example.com", "Title": "Researcher"}]
    for name in ("legacy", "crm"):
        make_source(rt, tenant.id, name, "contacts", "Id").land(*rows)
    run = _cli(_env(database_url, redis_url, namespace, tmp_path), tenant.slug)
    mapping_service.publish_fields(rt, tenant.id, "legacy", "contacts", "contact",
                                   [{"source_field": "Email", "canonical_field": "email"}], actor="person", apply=False)
    run("propose", "legacy", "--stream", "contacts")
    title = _queue(rt, tenant.id, "legacy")["Title"].id
    assert "rejected (not contact.title)" in run("review", "reject", str(title), "--comment", "honours")
    vectors.drain_outbox(rt, tenant_id=tenant.id)  # what `aos vectors drain` does, for this tenant only

    run("propose", "crm", "--stream", "contacts")
    email, title_again = _queue(rt, tenant.id, "crm")["Email"].id, _queue(rt, tenant.id, "crm")["Title"].id
    shown = run("review", "show", str(email))
    examples = shown.split("nearest approved examples", 1)[1]
    assert "files" in examples and "contacts" in examples and "Email" in examples and "contact.email" in examples
    assert "1.00" in examples
    rejected = run("review", "show", str(title_again)).split("nearest rejected examples", 1)[1]
    assert "Title" in rejected and "contact.title" in rejected
