"""The console's other decisions: run the matcher, split a field, drift and quarantine, each
refused across tenants."""

from __future__ import annotations

from autonomos.services import quarantine, review
from tests.console.conftest import csrf_of


def test_console_runs_the_matcher_and_splits_a_field(rt, signed_in, tenant_b):
    client = signed_in(tenant_b.keys["reviewer"])
    page = client.get("/console/review")
    assert "Propose mappings for crm / contacts" in page.text
    proposed = client.post("/console/review-propose", data={"csrf": csrf_of(client, "/console/review"),
                                                            "connection": "crm", "stream": "contacts"})
    assert proposed.status_code == 303
    assert "The matcher proposed" in client.get(proposed.headers["location"]).text
    item = next(p for p in review.list_queue(rt, tenant_b.id, stream="contacts") if p.source_field == "Title")
    split = client.post(f"/console/review/{item.id}/split",
                        data={"csrf": csrf_of(client, "/console/review"), "separator": " ",
                              "fields": "contact.first_name, contact.last_name"})
    assert split.status_code == 303
    decided = review.show(rt, tenant_b.id, item.id)
    assert decided.status == "accepted"
    assert [r["field"] for r in decided.reviews] == ["first_name", "last_name"]


def test_console_retries_a_quarantined_record_with_a_corrected_payload(rt, signed_in, tenant_a, tenant_b):
    item = quarantine.list_items(rt, tenant_b.id).items[0]
    stranger = signed_in(tenant_a.keys["admin"])
    assert stranger.get(f"/console/quarantine/{item.id}").status_code == 404
    assert stranger.post(f"/console/quarantine/{item.id}/retry",
                         data={"csrf": csrf_of(stranger), "payload": "{}"}).status_code == 404
    reader = signed_in(tenant_b.keys["reader"])
    shown = reader.get(f"/console/quarantine/{item.id}")
    assert shown.status_code == 200 and "extra" in shown.text and "Retry" not in shown.text
    admin = signed_in(tenant_b.keys["admin"])
    assert "CSV too many columns" in admin.get("/console/quarantine").text
    bad = admin.post(f"/console/quarantine/{item.id}/retry", data={"csrf": csrf_of(admin), "payload": "{not json"},
                     headers={"Referer": f"https://testserver/console/quarantine/{item.id}"})
    assert bad.status_code == 303 and quarantine.get_item(rt, tenant_b.id, item.id).status == "open"
    fixed = admin.post(f"/console/quarantine/{item.id}/retry", data={
        "csrf": csrf_of(admin), "payload": '{"Id": "0034", "FirstName": "Bad", "LastName": "Row"}'})
    assert fixed.status_code == 303
    assert quarantine.get_item(rt, tenant_b.id, item.id).status == "resolved"
    assert "landed and resolved" in admin.get(fixed.headers["location"]).text


def test_console_drift_events_of_another_tenant_are_404(rt, signed_in, tenant_a, tenant_b):
    import uuid

    client = signed_in(tenant_a.keys["admin"])
    csrf = csrf_of(client)
    for decision in ("accepted", "rejected", "mute"):
        assert client.post(f"/console/drift/{uuid.uuid4()}/{decision}", data={"csrf": csrf}).status_code == 404
    assert client.get("/console/drift?status=").status_code == 200
