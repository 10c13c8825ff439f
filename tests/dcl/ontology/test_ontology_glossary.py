"""An ontology's glossary: checked on import before anything is written, stored with the version,
exported again, merged by --extend, and read by the matcher from the stored version."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from autonomos.cli.app import app
from autonomos.dcl.matching import propose
from autonomos.dcl.ontology import OntologyFormatError, content_hash, default_document, dump, parse_text
from autonomos.services import ontology
from tests.conftest import TEST_SECRET_KEY

WITH_GLOSSARY = """
name: crm
tables:
  - name: account
    fields: [{name: id}]
glossary:
  ARR: annual recurring revenue
  "no": number
"""


def test_the_glossary_is_normalised_and_counts_in_the_hash():
    document = parse_text(WITH_GLOSSARY)
    assert document["glossary"] == {"arr": "annual recurring revenue", "no": "number"}
    bare = parse_text("name: crm\ntables: [{name: account, fields: [{name: id}]}]")
    assert "glossary" not in bare and content_hash(bare) != content_hash(document)
    assert content_hash(default_document("crm")) == content_hash(parse_text(dump(default_document("crm"))))


@pytest.mark.parametrize(("glossary", "problem"), [
    ("glossary: [uom, unit of measure]", "must be a mapping of term to meaning"),
    ("glossary: {ship to: delivery address}", "glossary term 'ship to' must be one word"),
    ("glossary: {no: number}", "read by YAML as booleans: quote the term"),
    ("glossary: {uom: ''}", "glossary term 'uom': its meaning is empty"),
    ("glossary: {uom: unit of measure, UOM: units}", "glossary term 'uom' appears twice"),
])
def test_a_malformed_glossary_is_refused_with_the_reason(glossary, problem):
    with pytest.raises(OntologyFormatError, match=problem):
        parse_text(f"name: crm\ntables: [{{name: account, fields: [{{name: id}}]}}]\n{glossary}\n")


def test_the_glossary_round_trips_and_extends(rt, make_tenant):
    tenant = make_tenant("gloss")
    first = ontology.import_ontology(rt, tenant.id, parse_text(
        "name: crm\ntables: [{name: account, fields: [{name: arr, type: number}]}]\n"
        "glossary: {ARR: annual recurring revenue}\n"), extend=True, actor="test")
    assert first.created and first.version.content["glossary"] == {"arr": "annual recurring revenue"}
    current = ontology.ontology_version(rt, tenant.id)
    assert current.content["glossary"] == {"arr": "annual recurring revenue"}  # as stored in Postgres
    for fmt in ("yaml", "json"):
        again = parse_text(dump(current.content, fmt))
        assert again == current.content
        assert not ontology.import_ontology(rt, tenant.id, again, actor="test").created
    second = ontology.import_ontology(rt, tenant.id, parse_text(
        "name: crm\ntables: [{name: account, fields: []}]\nglossary: {mrr: monthly recurring revenue}\n"),
        extend=True, actor="test")
    assert second.version.content["glossary"] == {"arr": "annual recurring revenue", "mrr": "monthly recurring revenue"}
    assert ontology.ontology_version(rt, tenant.id, version=1).content == default_document("crm")


def test_the_matcher_reads_the_stored_glossary(rt, make_tenant):
    tenant = make_tenant("gloss")
    source = {"system": "billing", "tables": [{"name": "customers", "fields": [
        {"name": "cust_id", "type": "string", "samples": ["c-1", "c-2"]},
        {"name": "ltv", "type": "number", "samples": [1200.5, 88.0]}]}]}
    ontology.import_ontology(rt, tenant.id, parse_text(
        "name: crm\ntables:\n  - name: account\n    fields:\n"
        "      - {name: lifetime_value, type: number, description: Revenue expected over the relationship.}\n"
        "      - {name: annual_revenue, type: number, description: Revenue per year.}\n"
        "glossary: {LTV: lifetime value}\n"), extend=True, actor="test")
    stored = ontology.ontology_version(rt, tenant.id).content
    ltv = next(p for p in propose(source, stored) if p.source_field == "ltv")
    assert (ltv.candidates[0].target_table, ltv.candidates[0].target_field) == ("account", "lifetime_value")


def test_cli_refuses_a_malformed_glossary_before_writing_anything(rt, make_tenant, database_url, redis_url,
                                                                  namespace, tmp_path):
    tenant = make_tenant("gloss-cli")
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "AOS_REDIS_NAMESPACE": namespace,
           "AOS_DATA_DIR": str(tmp_path), "AOS_SECRET_KEY": TEST_SECRET_KEY, "COLUMNS": "200"}
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: crm\ntables: [{name: account, fields: [{name: id}]}]\nglossary: {ship to: delivery}\n")
    refused = runner.invoke(app, ["ontology", "import", str(bad), "--tenant", tenant.slug], env=env)
    assert refused.exit_code == 2 and "glossary term 'ship to' must be one word" in refused.output, refused.output
    assert [v.version for v in ontology.list_ontologies(rt, tenant.id)] == [1]
    good = tmp_path / "good.yaml"
    good.write_text("name: crm\ntables: [{name: account, fields: [{name: id}]}]\nglossary: {uom: unit of measure}\n")
    imported = runner.invoke(app, ["ontology", "import", str(good), "--tenant", tenant.slug, "--extend"], env=env)
    assert imported.exit_code == 0 and "created version 2" in imported.output, imported.output
    exported = tmp_path / f"out-{uuid.uuid4().hex[:4]}.yaml"
    out = runner.invoke(app, ["ontology", "export", "--tenant", tenant.slug, "-o", str(exported)], env=env)
    assert out.exit_code == 0 and "uom: unit of measure" in exported.read_text(), out.output
    shown = runner.invoke(app, ["ontology", "show", "--tenant", tenant.slug], env=env)
    assert shown.exit_code == 0 and "unit of measure" in shown.output, shown.output
