"""Every page renders for a reader; roles decide what a session may do; every decision is
audited; another tenant's objects answer 404 exactly as missing ones do."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from autonomos.services import mappings, quarantine, records, review
from autonomos.store.tables import AuditLog
from tests.console.conftest import csrf_of

PAGES = ["/console/connections", "/console/review", "/console/mappings", "/console/drift", "/console/records",
         "/console/lineage", "/console/quarantine"]


@pytest.mark.parametrize("path", PAGES)
def test_console_pages_render_for_a_reader(signed_in, tenant_a, path):
    page = signed_in(tenant_a.keys["reader"]).get(path)
    assert page.status_code == 200, page.text
    assert '<main id="main"' in page.text and tenant_a.keys["reader"] not in page.text


def test_console_reader_sees_no_decision_buttons_and_a_forged_post_is_refused(rt, signed_in, tenant_a):
    client = signed_in(tenant_a.keys["reader"])
    page = client.get("/console/review")
    assert "contacts" in page.text and "/approve" not in page.text and "Bulk accept" not in page.text
    assert "Start sync" not in client.get("/console/connections").text
    proposal = review.list_queue(rt, tenant_a.id, stream="contacts")[0]
    forged = client.post(f"/console/review/{proposal.id}/approve", data={"csrf": csrf_of(client)})
    assert forged.status_code == 403
    assert review.show(rt, tenant_a.id, proposal.id).status == "open"


def test_console_reviewer_decides_and_undoes_with_an_audit_trail(rt, signed_in, tenant_a):
    client = signed_in(tenant_a.keys["reviewer"])
    proposal = next(p for p in review.list_queue(rt, tenant_a.id, stream="contacts") if p.candidates)
    response = client.post(f"/console/review/{proposal.id}/approve", data={"csrf": csrf_of(client, "/console/review")})
    assert response.status_code == 303
    assert review.show(rt, tenant_a.id, proposal.id).status == "accepted"
    page = client.get(response.headers["location"])
    assert f"Approved {proposal.source_field}" in page.text and f"/console/review/{proposal.id}/undo" in page.text
    client.post(f"/console/review/{proposal.id}/undo", data={"csrf": csrf_of(client, "/console/review")})
    assert review.show(rt, tenant_a.id, proposal.id).status == "open"
    with rt.db.tenant(tenant_a.id) as session:
        rows = session.execute(select(AuditLog.action, AuditLog.actor).where(
            AuditLog.tenant_id == tenant_a.id, AuditLog.target_id == str(proposal.id))).all()
    actor = f"console:apikey:{tenant_a.key_ids['reviewer']}"
    assert ("review.approve", actor) in rows and ("review.reopen", actor) in rows
    # a reviewer does not manage: no publish, no sync
    csrf = csrf_of(client)
    assert client.post(f"/console/connections/{tenant_a.connection_id}/start", data={"csrf": csrf}).status_code == 403


def test_console_edit_target_then_bulk_accept_then_publish_and_roll_back(rt, signed_in, tenant_a):
    reviewer, admin = signed_in(tenant_a.keys["reviewer"]), signed_in(tenant_a.keys["admin"])
    open_items = [p for p in review.list_queue(rt, tenant_a.id, stream="contacts") if p.candidates]
    first = open_items[0]
    target = f"{first.candidates[0]['entity']}.{first.candidates[0]['field']}"
    detail = reviewer.get(f"/console/review/{first.id}")
    assert detail.status_code == 200 and "Preview as" in detail.text
    reviewer.post(f"/console/review/{first.id}/edit", data={"csrf": csrf_of(reviewer, "/console/review"),
                                                             "target": target, "transform": '[{"op": "trim"}]'})
    decided = review.show(rt, tenant_a.id, first.id)
    assert decided.status == "accepted" and decided.reviews[-1]["transform"] == [{"op": "trim"}]
    bulk = reviewer.post("/console/review-bulk", data={"csrf": csrf_of(reviewer, "/console/review"),
                                                        "connection": "crm", "stream": "contacts", "threshold": "0"})
    assert bulk.status_code == 303
    assert not [p for p in review.list_queue(rt, tenant_a.id, stream="contacts") if p.candidates]
    published = admin.post("/console/mappings-publish", data={"csrf": csrf_of(admin), "connection": "crm",
                                                              "stream": "contacts"})
    assert published.status_code == 303
    assert "Published contacts" in admin.get("/console/mappings").text
    assert records.list_records(rt, tenant_a.id, "contact")
    version = next(v for v in mappings.list_versions(rt, tenant_a.id) if v.entity == "contact")
    # a second version (one field fewer), then roll back to the first
    mappings.publish_fields(rt, tenant_a.id, "crm", "contacts", "contact", version.fields[:-1], actor="test")
    diff = admin.get(f"/console/mappings/{version.mapping_id}?old=1&new=2")
    assert diff.status_code == 200 and "removed" in diff.text
    rolled = admin.post(f"/console/mappings/{version.mapping_id}/rollback",
                        data={"csrf": csrf_of(admin), "version": "1"})
    assert rolled.status_code == 303
    current = mappings.get_version(rt, tenant_a.id, "crm", "contacts", "contact")
    assert current.version == 3 and current.rollback_of == version.id
    record = records.list_records(rt, tenant_a.id, "contact")[0]
    shown = admin.get(f"/console/records/{record['id']}")
    assert shown.status_code == 200 and "Change history" in shown.text
    assert "contacts" in admin.get("/console/lineage").text


def test_console_tenant_b_objects_are_unreachable_from_tenant_a(rt, signed_in, tenant_a, tenant_b):
    client = signed_in(tenant_a.keys["admin"])
    b_proposal = review.list_queue(rt, tenant_b.id, stream="contacts")[0]
    missing = uuid.uuid4()
    for path in (f"/console/review/{b_proposal.id}", f"/console/review/{missing}"):
        page = client.get(path)
        assert page.status_code == 404 and b_proposal.source_field not in page.text
    csrf = csrf_of(client)
    for action in ("approve", "reject", "undo"):
        assert client.post(f"/console/review/{b_proposal.id}/{action}", data={"csrf": csrf}).status_code in (303, 404)
    assert review.show(rt, tenant_b.id, b_proposal.id).status == "open"
    assert client.post(f"/console/connections/{tenant_b.connection_id}/start", data={"csrf": csrf}).status_code == 404
    assert client.get(f"/console/records/{missing}").status_code == 404
    assert client.get(f"/console/mappings/{missing}").status_code == 404
    assert client.get("/console/quarantine/999999999").status_code == 404
    listing = client.get("/console/review").text
    assert str(b_proposal.id) not in listing
