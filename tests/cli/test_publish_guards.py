"""Publishing says when its backfill quarantined everything, and refuses a field whose name
only invisible or look-alike characters tell apart from another."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from autonomos.cli.app import app
from autonomos.dcl.mappings.exceptions import MappingError
from autonomos.services import mappings as mapping_service
from autonomos.services import review as review_service
from tests.cli.test_cli import _env
from tests.dcl.apply.conftest import make_source

runner = CliRunner()
CYRILLIC_EMAIL = "\u0435mail"
ZERO_WIDTH_NAME = "name\u200b"


def test_a_backfill_that_quarantines_every_record_fails_with_its_top_reasons(
        rt, make_tenant, database_url, redis_url, namespace, tmp_path):
    tenant = make_tenant("allbad")
    source = make_source(rt, tenant.id, "crm", "contacts", "id")
    source.land(*({"id": f"c{i}", "OptOut": "maybe"} for i in range(3)))
    fields = tmp_path / "fields.json"
    fields.write_text(json.dumps([{"source_field": "id", "canonical_field": "id"},
                                  {"source_field": "OptOut", "canonical_field": "email_opt_out"}]))
    result = runner.invoke(app, ["mapping", "publish", "crm", "--stream", "contacts", "--entity", "contact",
                                 "--fields", str(fields), "--tenant", tenant.slug],
                           env=_env(database_url, redis_url, namespace, tmp_path))
    assert result.exit_code == 1, result.output
    assert "quarantined every record it read (3 of 3)" in result.output
    assert "email_opt_out: cannot convert OptOut (3)" in result.output
    assert "succeeded" not in result.output.split("error:")[1]


def test_confusable_field_names_are_flagged_in_review_and_named_when_published(rt, make_tenant):
    tenant = make_tenant("confuse")
    source = make_source(rt, tenant.id, "crm", "contacts", "id")
    source.land({"id": "c1", "email": "a@x.io", CYRILLIC_EMAIL: "evil@x.io", "name": "Ada", ZERO_WIDTH_NAME: "Eve"})
    review_service.propose_stream(rt, tenant.id, "crm", "contacts", actor="test")
    queue = {p.source_field: p for p in review_service.list_queue(rt, tenant.id, connection="crm", status=None)}
    for odd in (CYRILLIC_EMAIL, ZERO_WIDTH_NAME):
        assert queue[odd].decision != "auto"
        assert any(r.startswith("confusable name") for r in queue[odd].evidence["reasons"])
    assert "U+0435 CYRILLIC SMALL LETTER IE" in " ".join(queue[CYRILLIC_EMAIL].evidence["reasons"])
    with pytest.raises(MappingError) as refused:
        mapping_service.publish_fields(rt, tenant.id, "crm", "contacts", "contact", [
            {"source_field": "id", "canonical_field": "id"}, {"source_field": CYRILLIC_EMAIL, "canonical_field": "email"}],
            actor="test")
    assert "U+0435 CYRILLIC SMALL LETTER IE at 0" in str(refused.value) and "'email'" in str(refused.value)
    with pytest.raises(MappingError, match="U\\+200B ZERO WIDTH SPACE"):
        mapping_service.publish_fields(rt, tenant.id, "crm", "contacts", "contact", [
            {"source_field": "id", "canonical_field": "id"}, {"source_field": ZERO_WIDTH_NAME,
                                                              "canonical_field": "first_name"}], actor="test")
    plain = mapping_service.publish_fields(rt, tenant.id, "crm", "contacts", "contact", [
        {"source_field": "id", "canonical_field": "id"}, {"source_field": "email", "canonical_field": "email"}],
        actor="test")
    assert plain.created and plain.problem is None
