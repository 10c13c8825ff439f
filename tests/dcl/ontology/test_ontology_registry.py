"""The tenant ontology registry: seeded from the default, versioned only on change, immutable,
extensible per tenant, and round-tripping through export and import."""

from __future__ import annotations

import copy
import uuid

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from autonomos.cli.app import app
from autonomos.dcl.ontology import OntologyFormatError, content_hash, default_document, dump, parse_text
from autonomos.services import ontology
from autonomos.store.tables import AuditLog, CanonicalSchema, CanonicalSchemaVersion, DefaultOntology, EmbeddingOutbox
from tests.conftest import TEST_SECRET_KEY

EXTENSION = {
    "name": "crm",
    "tables": [
        {"name": "subscription", "description": "A recurring plan an account pays for.",
         "fields": [{"name": "id", "type": "string"}, {"name": "mrr", "type": "number", "description": "Monthly revenue."}]},
        {"name": "contact", "fields": [{"name": "loyalty_tier", "type": "string", "description": "Gold, silver..."}]},
    ],
}


def test_migration_seeds_the_shipped_default_with_its_hash(rt, make_tenant):
    tenant = make_tenant("ont")
    with rt.db.tenant(tenant.id) as session:  # the app role may read the global catalogue
        row = session.scalar(select(DefaultOntology).where(DefaultOntology.name == "crm")
                             .order_by(DefaultOntology.version.desc()))
        assert row.content_hash == content_hash(default_document("crm"))
        with pytest.raises(DBAPIError):  # ... and never write it
            session.execute(update(DefaultOntology).values(content_hash="x"))


def test_first_use_copies_the_default_in_as_version_1_and_audits_it(rt, make_tenant):
    tenant = make_tenant("ont")
    versions = ontology.list_ontologies(rt, tenant.id, actor="test")
    assert [(v.name, v.version) for v in versions] == [("crm", 1)]
    assert versions[0].content == default_document("crm")
    with rt.db.tenant(tenant.id) as session:
        schema = session.scalar(select(CanonicalSchema).where(CanonicalSchema.tenant_id == tenant.id))
        assert schema.based_on_default_id is not None
        actions = list(session.scalars(select(AuditLog.action).where(AuditLog.tenant_id == tenant.id)))
        assert actions == ["ontology.seed"]
        queued = session.scalar(select(text("count(*)")).select_from(EmbeddingOutbox)
                                .where(EmbeddingOutbox.tenant_id == tenant.id))
        assert queued == sum(len(t["fields"]) for t in default_document("crm")["tables"])


def test_import_makes_a_version_only_when_the_content_changes(rt, make_tenant):
    tenant = make_tenant("ont")
    same = default_document("crm")
    reordered = {**same, "tables": [{**t, "fields": t["fields"][::-1]} for t in same["tables"][::-1]]}
    assert not ontology.import_ontology(rt, tenant.id, same, actor="test").created
    assert not ontology.import_ontology(rt, tenant.id, reordered, actor="test").created
    changed = copy.deepcopy(same)
    changed["tables"][0]["fields"][1]["description"] = "The company's registered name."
    del changed["tables"][0]["fields"][2]
    result = ontology.import_ontology(rt, tenant.id, changed, actor="test")
    assert result.created and result.version.version == 2
    assert not ontology.import_ontology(rt, tenant.id, changed, actor="test").created
    assert [v.version for v in ontology.list_ontologies(rt, tenant.id)] == [1, 2]
    with rt.db.tenant(tenant.id) as session:
        v2 = session.execute(select(EmbeddingOutbox.item_id, EmbeddingOutbox.action)
                             .where(EmbeddingOutbox.tenant_id == tenant.id).order_by(EmbeddingOutbox.id.desc())
                             .limit(2)).all()
        assert sorted((i.split(":", 1)[1], a) for i, a in v2) == [("account.domain", "delete"),
                                                                   ("account.name", "upsert")]
        assert session.scalars(select(AuditLog.action).where(AuditLog.tenant_id == tenant.id)
                               .order_by(AuditLog.id)).all() == ["ontology.seed", "ontology.import"]


def test_versions_are_immutable_in_the_database(rt, make_tenant):
    tenant = make_tenant("ont")
    ontology.list_ontologies(rt, tenant.id)
    with pytest.raises(DBAPIError, match="immutable"):
        with rt.db.tenant(tenant.id) as session:
            session.execute(update(CanonicalSchemaVersion).where(CanonicalSchemaVersion.tenant_id == tenant.id)
                            .values(content={"name": "crm", "tables": []}))


def test_a_tenant_extension_does_not_touch_another_tenant(rt, make_tenant):
    a, b = make_tenant("ont-a"), make_tenant("ont-b")
    ontology.list_ontologies(rt, b.id)
    result = ontology.import_ontology(rt, a.id, parse_text(dump(EXTENSION)), extend=True, actor="test")
    assert result.created and result.version.version == 2
    _, subscription = ontology.show_entity(rt, a.id, "subscription")
    assert [f["name"] for f in subscription["fields"]] == ["id", "mrr"]
    _, contact = ontology.show_entity(rt, a.id, "contact")
    assert contact["fields"][-1]["name"] == "loyalty_tier" and contact["fields"][0]["name"] == "id"
    assert contact["description"] == default_document("crm")["tables"][1]["description"]
    b_current = ontology.ontology_version(rt, b.id)
    assert b_current.version == 1 and b_current.content == default_document("crm")
    with pytest.raises(Exception, match="no such entity"):
        ontology.show_entity(rt, b.id, "subscription")


def test_export_round_trips_in_yaml_and_json(rt, make_tenant):
    tenant = make_tenant("ont")
    ontology.import_ontology(rt, tenant.id, parse_text(dump(EXTENSION)), extend=True, actor="test")
    current = ontology.ontology_version(rt, tenant.id)
    for fmt in ("yaml", "json"):
        again = parse_text(dump(current.content, fmt))
        assert again == current.content
        assert not ontology.import_ontology(rt, tenant.id, again, actor="test").created


def test_malformed_documents_are_refused_with_the_reason():
    with pytest.raises(OntologyFormatError, match="unknown type"):
        parse_text("name: x\ntables: [{name: a, fields: [{name: b, type: money}]}]")
    with pytest.raises(OntologyFormatError, match="duplicate field"):
        parse_text("name: x\ntables: [{name: a, fields: [{name: b}, {name: b}]}]")
    with pytest.raises(OntologyFormatError, match="tables"):
        parse_text('{"system": "x"}')


def test_cli_import_export_list_show(rt, make_tenant, database_url, redis_url, namespace, tmp_path):
    tenant = make_tenant("ont-cli")
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "AOS_REDIS_NAMESPACE": namespace,
           "AOS_DATA_DIR": str(tmp_path), "AOS_SECRET_KEY": TEST_SECRET_KEY, "COLUMNS": "200"}
    runner = CliRunner()
    extension = tmp_path / "ext.json"
    extension.write_text(dump(EXTENSION, "json"))
    first = runner.invoke(app, ["ontology", "import", str(extension), "--tenant", tenant.slug, "--extend"], env=env)
    assert first.exit_code == 0 and "created version 2" in first.output, first.output
    exported = tmp_path / f"out-{uuid.uuid4().hex[:4]}.yaml"
    out = runner.invoke(app, ["ontology", "export", "--tenant", tenant.slug, "-o", str(exported)], env=env)
    assert out.exit_code == 0, out.output
    again = runner.invoke(app, ["ontology", "import", str(exported), "--tenant", tenant.slug], env=env)
    assert "unchanged, still version 2" in again.output, again.output
    listed = runner.invoke(app, ["ontology", "list", "--tenant", tenant.slug], env=env)
    assert listed.exit_code == 0 and "crm" in listed.output
    shown = runner.invoke(app, ["ontology", "show", "subscription", "--tenant", tenant.slug, "--version", "2"], env=env)
    assert shown.exit_code == 0 and "mrr" in shown.output, shown.output
    missing = runner.invoke(app, ["ontology", "show", "subscription", "--tenant", tenant.slug, "--version", "1"],
                            env=env)
    assert missing.exit_code == 1 and "no such entity" in missing.output
