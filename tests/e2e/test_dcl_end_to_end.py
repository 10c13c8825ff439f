"""End to end: two differently named CRM exports are synced, matched, auto-accepted, reviewed,
published and applied; canonical records, events and change log equal the values written
here, field by field. A second sync then flows through automatically."""

from __future__ import annotations

import json

from sqlalchemy import select

from autonomos.services.worker import run_worker
from autonomos.dcl.apply import event_id
from autonomos.services import connections, mappings, records, review, sync
from autonomos.store.tables import AgentRun, AuditLog
from tests.conftest import tenant_files

SFDC_HEADER = "Id,FirstName,LastName,Email,Phone,Title,AccountId,HasOptedOutOfEmail,CreatedDate,LastModifiedDate\n"
SFDC_ROWS = [
    "0031,Ada,Lovelace,Ada@Example.com,+44 20 7946 0001,CTO,0011,false,2024-01-05T10:00:00Z,2024-02-01T09:30:00Z\n",
    "0032,Grace,Hopper,grace@navy.mil,+1 202 555 0102,Rear Admiral,0012,true,2024-01-06T11:00:00Z,"
    "2024-02-02T09:30:00Z\n",
]
HUBSPOT = [
    {"vid": 501, "firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com",
     "jobtitle": "Chief Technology Officer", "phone": "+44 20 7946 0001", "associatedcompanyid": "9001", "createdate": "1704448800000",
     "lastmodifieddate": "1706779800000", "hs_lead_status": "OPEN"},
    {"vid": 502, "firstname": "Alan", "lastname": "Turing", "email": "alan@bletchley.uk", "jobtitle": "Researcher",
     "phone": "+44 1908 640404", "associatedcompanyid": "9002", "createdate": "1704535200000", "lastmodifieddate": "1706866200000",
     "hs_lead_status": "NEW"},
]

EXPECTED = {
    ("sfdc", "0031"): {"id": "0031", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                       "phone": "+44 20 7946 0001", "title": "CTO", "account_id": "0011", "email_opt_out": False,
                       "created_at": "2024-01-05T10:00:00Z", "updated_at": "2024-02-01T09:30:00Z"},
    ("sfdc", "0032"): {"id": "0032", "first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.mil",
                       "phone": "+1 202 555 0102", "title": "Rear Admiral", "account_id": "0012",
                       "email_opt_out": True, "created_at": "2024-01-06T11:00:00Z",
                       "updated_at": "2024-02-02T09:30:00Z"},
    ("hubspot", "501"): {"id": "501", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                         "phone": "+44 20 7946 0001", "title": "Chief Technology Officer",
                         "account_id": "9001", "created_at": "2024-01-05T10:00:00Z", "updated_at": "2024-02-01T09:30:00Z"},
    ("hubspot", "502"): {"id": "502", "first_name": "Alan", "last_name": "Turing", "email": "alan@bletchley.uk",
                         "phone": "+44 1908 640404", "title": "Researcher", "account_id": "9002",
                         "created_at": "2024-01-06T10:00:00Z",
                         "updated_at": "2024-02-02T09:30:00Z"},
}


def _sync(rt, tenant_id, name):
    sync.start_sync(rt, tenant_id, name, actor="test")
    run_worker(rt, burst=True)


def test_two_crm_exports_become_canonical_contacts(rt, make_tenant, tmp_path):
    tenant = make_tenant("e2e").id
    tmp_path = tenant_files(rt, tenant)
    (tmp_path / "contacts.csv").write_text(SFDC_HEADER + "".join(SFDC_ROWS))
    (tmp_path / "contacts.ndjson").write_text("".join(json.dumps(r) + "\n" for r in HUBSPOT))
    for name, path, key in (("sfdc", "contacts.csv", "Id"), ("hubspot", "contacts.ndjson", "vid")):
        connections.create_connection(rt, tenant, provider="files", name=name, actor="test",
                                      config={"path": str(tmp_path / path), "stream": "contacts", "primary_key": [key]})
        _sync(rt, tenant, name)
        review.propose_stream(rt, tenant, name, "contacts", actor="test")
        review.accept_auto(rt, tenant, name, "contacts", actor="test")

    # A person reviews what is left: approve the company link, map the HubSpot id, drop the lead status.
    # ("vid" is rejected: nothing fits; its first candidate is whatever the sentence model ranks first.)
    left = {p.source_field: p for p in review.list_queue(rt, tenant, connection="hubspot")}
    assert {f: (p.decision, p.candidates[0]["field"]) for f, p in left.items()} == {
        "associatedcompanyid": ("review", "account_id"), "hs_lead_status": ("reject", "status"), "vid": ("reject", "title")}
    review.review(rt, tenant, left["associatedcompanyid"].id, "approve", actor="test")
    review.review(rt, tenant, left["vid"].id, "edit", field="contact.id", actor="test")
    review.review(rt, tenant, left["hs_lead_status"].id, "reject", actor="test")
    assert review.list_queue(rt, tenant) == []

    published = {name: mappings.publish_reviewed(rt, tenant, name, "contacts", actor="test")
                 for name in ("sfdc", "hubspot")}
    hubspot_fields = {f["canonical_field"]: f for f in published["hubspot"][0].version.fields}
    assert hubspot_fields["created_at"] == {"source_field": "createdate", "canonical_field": "created_at",
                                            "transform": [{"op": "epoch", "unit": "ms"}]}

    current = records.list_records(rt, tenant, "contact")
    assert {(r["connection"], r["record_key"]): r["data"] for r in current} == EXPECTED

    page = records.read_events(rt, tenant, entity="contact")
    assert [(e["op"], e["source_system"], e["record_key"], e["data"]) for e in page.events] == [
        ("upsert", "files", key, EXPECTED[(name, key)])
        for name, key in (("sfdc", "0031"), ("sfdc", "0032"), ("hubspot", "501"), ("hubspot", "502"))]
    version_of = {r["record_key"]: r["mapping_version_id"] for r in current}
    for e in page.events:
        assert e["id"] == str(event_id(tenant, e["raw_record_id"], version_of[e["record_key"]]))
    assert page.events[2]["unknown_fields"] == {"hs_lead_status": "OPEN"}

    # The source changes; the next sync applies the published version without anyone asking.
    (tmp_path / "contacts.csv").write_text(SFDC_HEADER + SFDC_ROWS[0].replace(",CTO,", ",Chief Scientist,")
                                           + SFDC_ROWS[1])
    _sync(rt, tenant, "sfdc")
    later = records.read_events(rt, tenant, entity="contact", after=page.next_cursor)
    assert [(e["record_key"], e["data"]["title"]) for e in later.events] == [("0031", "Chief Scientist")]
    ada = next(r for r in records.list_records(rt, tenant, "contact", connection="sfdc") if r["record_key"] == "0031")
    shown = records.show_record(rt, tenant, ada["id"])
    assert [h["diff"] for h in shown["history"]] == [
        {k: {"before": None, "after": v} for k, v in EXPECTED[("sfdc", "0031")].items()},
        {"title": {"before": "CTO", "after": "Chief Scientist"}}]

    # Resolution: the two Adas are one contact; the oldest connection (sfdc) wins conflicts.
    view = shown["unified"]
    assert sorted(m["connection"] for m in view.members) == ["hubspot", "sfdc"]
    assert (view.data["title"], view.sources["title"]["connection"]) == ("Chief Scientist", "sfdc")
    assert view.conflicts["title"] == [{"value": "Chief Scientist", "connection": "sfdc"},
                                       {"value": "Chief Technology Officer", "connection": "hubspot"}]

    with rt.db.tenant(tenant) as session:
        runs = session.scalars(select(AgentRun.kind).where(AgentRun.tenant_id == tenant)).all()
        actions = session.scalars(select(AuditLog.action).where(AuditLog.tenant_id == tenant)).all()
    assert runs == ["matcher", "matcher"]
    assert {"review.accept-auto", "review.approve", "review.edit", "review.reject", "mapping.publish"} <= set(actions)
