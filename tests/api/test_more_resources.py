"""The resources beyond the core ones, as a client drives them: the connector catalogue,
connection test/reset/streams and schema snapshots, run pause/resume, quarantine retry with a
corrected payload, ontology versions, proposal edit/split/accept-auto with mapping diff and
rollback, the read-only histories with cursor pages, tenant settings, and platform tenants."""

from __future__ import annotations

import uuid

from autonomos.services import apikeys, connections, platform_keys, review, sync
from autonomos.services.worker import run_worker
from tests.conftest import tenant_files


def _walk(client, url, headers, limit=1, **params) -> list[dict]:
    """Every item of a list, one small page at a time, following ``next_cursor``."""
    seen, cursor = [], None
    while True:
        page = client.get(url, headers=headers, params={**params, "limit": limit,
                                                         **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return seen


def test_connector_catalogue_lists_kinds_with_their_config_schema(client, make_tenant, key_for):
    reader = key_for(make_tenant("api").id, "reader")
    kinds = _walk(client, "/connector-kinds", reader, limit=3)
    assert {"files", "postgres", "salesforce"} <= {k["provider"] for k in kinds}
    files = client.get("/connector-kinds/files", headers=reader).json()
    assert "path" in files["config_schema"]["properties"]
    assert client.get("/connector-kinds/nope", headers=reader).status_code == 404


def test_connection_test_streams_snapshots_and_reset(client, seeded, key_for):
    admin = key_for(seeded.tenant_id, "admin")
    base = f"/connections/{seeded.connection_id}"
    tested = client.post(f"{base}/test", headers=admin)
    assert tested.status_code == 200 and tested.json()["ok"] is True, tested.text
    streams = client.get(f"{base}/streams", headers=admin).json()["items"]
    assert [s["stream"] for s in streams] == ["contacts"] and streams[0]["snapshots"] >= 1
    snapshots = _walk(client, "/schema-snapshots", admin, connection="crm", stream="contacts")
    assert snapshots[0]["fingerprint"] == streams[0]["fingerprint"] and snapshots[0]["profile"] is None
    shown = client.get(f"/schema-snapshots/{snapshots[0]['id']}", headers=admin).json()
    assert shown["profile"]["fields"]
    reset = client.post(f"{base}/reset", headers=admin, json={"stream": "contacts"})
    assert reset.status_code == 200 and reset.json()["stream"] == "contacts", reset.text
    audit = client.get("/audit-log", headers=admin, params={"action": "sync.reset"}).json()["items"]
    assert audit and audit[0]["actor"].startswith("apikey:")


def test_a_run_pauses_resumes_and_cancels(client, seeded, key_for):
    admin = key_for(seeded.tenant_id, "admin")
    run = client.post("/sync-runs", headers=admin, json={"connection": "crm"}).json()
    paused = client.post(f"/sync-runs/{run['id']}/pause", headers=admin)
    assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
    assert client.post(f"/sync-runs/{run['id']}/resume", headers=admin).json()["status"] == "pending"
    assert client.post(f"/sync-runs/{run['id']}/cancel", headers=admin).json()["status"] == "cancelled"
    assert client.post(f"/sync-runs/{run['id']}/resume", headers=admin).status_code == 409


def test_quarantine_retry_with_a_corrected_payload(client, seeded, key_for):
    admin = key_for(seeded.tenant_id, "admin")
    items = _walk(client, "/quarantine", admin)
    assert [i["id"] for i in items] == [seeded.item_id]
    shown = client.get(f"/quarantine/{seeded.item_id}", headers=admin).json()
    assert shown["payload"] == {"FirstName": "Alan"} and shown["status"] == "open"
    still_bad = client.post(f"/quarantine/{seeded.item_id}/retry", headers=admin, json={})
    assert still_bad.status_code == 409, still_bad.text
    fixed = client.post(f"/quarantine/{seeded.item_id}/retry", headers=admin, json={"payload": {
        "Id": "0033", "FirstName": "Alan", "LastName": "Turing", "Email": "alan@example.com", "Title": "Fellow"}})
    assert fixed.status_code == 200 and fixed.json()["status"] == "resolved", fixed.text
    assert client.get("/quarantine", headers=admin).json()["items"] == []
    assert [i["status"] for i in client.get("/quarantine?status=", headers=admin).json()["items"]] == ["resolved"]


def test_ontology_versions_list_show_export_and_import(client, seeded, key_for):
    admin = key_for(seeded.tenant_id, "admin")
    versions = _walk(client, "/ontology-versions", admin)
    assert [(v["name"], v["version"]) for v in versions] == [("crm", 1)]
    shown = client.get(f"/ontology-versions/{versions[0]['id']}", headers=admin).json()
    assert {t["name"] for t in shown["content"]["tables"]} >= {"account", "contact"}
    exported = client.get(f"/ontology-versions/{versions[0]['id']}/export", headers=admin)
    assert exported.headers["content-type"].startswith("application/yaml") and "name: crm" in exported.text
    as_json = client.get(f"/ontology-versions/{versions[0]['id']}/export?format=json", headers=admin).json()
    assert as_json == shown["content"]
    document = {"name": "crm", "tables": [{"name": "widget", "description": "A thing sold.", "fields": [
        {"name": "sku", "type": "string", "description": "Stock keeping unit."}]}]}
    headers = {**admin, "Idempotency-Key": uuid.uuid4().hex}
    made = client.post("/ontology-versions", headers=headers, json={"document": document, "extend": True})
    assert made.status_code == 201 and made.json()["version"]["version"] == 2, made.text
    assert client.post("/ontology-versions", headers=headers, json={"document": document, "extend": True}
                       ).headers["Idempotent-Replayed"] == "true"
    again = client.post("/ontology-versions", headers=admin, json={"document": document, "extend": True})
    assert again.status_code == 200 and again.json()["created"] is False
    bad = client.post("/ontology-versions", headers=admin, json={"document": {"tables": "no"}})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_edit_split_accept_auto_then_diff_and_rollback(rt, client, make_tenant, key_for):
    tenant = make_tenant("api").id
    path = tenant_files(rt, tenant) / "people.csv"
    path.write_text("Id,Name,Email,Job\n1,Ada Lovelace,ada@example.com,CTO\n2,Grace Hopper,grace@navy.mil,Admiral\n")
    connections.create_connection(rt, tenant, provider="files", name="hr", actor="test",
                                  config={"path": str(path), "stream": "people", "primary_key": ["Id"]})
    sync.start_sync(rt, tenant, "hr", actor="test")
    run_worker(rt, burst=True)
    review.propose_stream(rt, tenant, "hr", "people", actor="test")
    reviewer, admin = key_for(tenant, "reviewer"), key_for(tenant, "admin")
    by_field = {p["source_field"]: p for p in _walk(client, "/proposals", reviewer, limit=2)}
    edited = client.post(f"/proposals/{by_field['Email']['id']}/edit", headers=reviewer,
                         json={"field": "contact.email", "transform": [{"op": "trim"}, {"op": "lower"}]})
    assert edited.status_code == 200 and edited.json()["status"] == "accepted", edited.text
    client.post(f"/proposals/{by_field['Id']['id']}/edit", headers=reviewer, json={"field": "contact.id"})
    auto = client.post("/proposals/accept-auto", headers=reviewer, json={"connection": "hr"})
    assert auto.status_code == 200, auto.text
    first = client.post("/mapping-versions", headers=admin, json={"connection": "hr", "stream": "people"})
    assert first.status_code == 201, first.text
    v1 = first.json()["items"][0]["version"]

    split = client.post(f"/proposals/{by_field['Name']['id']}/split", headers=reviewer,
                        json={"fields": ["contact.first_name", "contact.last_name"], "separator": " "})
    assert split.status_code == 200, split.text
    assert [r["field"] for r in split.json()["reviews"][-2:]] == ["first_name", "last_name"]
    second = client.post("/mapping-versions", headers=admin, json={"connection": "hr", "stream": "people"})
    v2 = second.json()["items"][0]["version"]
    assert v2["version"] == v1["version"] + 1
    diff = client.get(f"/mapping-versions/{v1['id']}/diff", headers=admin).json()
    assert diff["new"]["id"] == v2["id"] and {c["canonical_field"] for c in diff["changes"]} >= {
        "first_name", "last_name"}
    rolled = client.post(f"/mapping-versions/{v1['id']}/rollback", headers=admin)
    assert rolled.status_code == 201, rolled.text
    assert rolled.json()["version"]["rollback_of"] == v1["id"] and rolled.json()["version"]["fields"] == v1["fields"]
    assert client.post(f"/mapping-versions/{v1['id']}/rollback", headers=admin).status_code == 422


def test_histories_page_by_cursor(client, seeded, key_for):
    admin = key_for(seeded.tenant_id, "admin")
    changes = _walk(client, "/changes", admin, entity="contact")
    assert len(changes) >= 2 and [c["id"] for c in changes] == sorted(c["id"] for c in changes)
    mine = _walk(client, "/changes", admin, record_id=seeded.record_id)
    assert {c["record_id"] for c in mine} == {seeded.record_id}
    links = _walk(client, "/entity-links", admin, record_id=seeded.record_id)
    assert [link["id"] for link in links] == [str(seeded.link_id)]
    assert client.get(f"/entity-links/{seeded.link_id}", headers=admin).json()["match_key"] == "email"
    runs = _walk(client, "/agent-runs", admin, kind="matcher")
    assert str(seeded.agent_run_id) in {r["id"] for r in runs} and runs[0]["inputs"] is None
    assert client.get(f"/agent-runs/{seeded.agent_run_id}", headers=admin).json()["inputs"]
    assert [r["id"] for r in _walk(client, "/eval-runs", admin)] == [str(seeded.eval_run_id)]
    assert client.get(f"/eval-runs/{seeded.eval_run_id}", headers=admin).json()["scores"]["pooled"]["f1"] == 1.0
    audit = _walk(client, "/audit-log", admin, limit=7)
    assert [a["id"] for a in audit] == sorted((a["id"] for a in audit), reverse=True)
    assert {"sync.start", "connection.create"} <= {a["action"] for a in audit}
    assert client.get("/audit-log", headers=key_for(seeded.tenant_id, "reader")).status_code == 403
    assert client.get("/changes", headers=admin, params={"cursor": "bm90LWEtY3Vyc29y"}).status_code == 422


def test_tenant_settings_read_and_patch(client, make_tenant, key_for):
    tenant = make_tenant("api").id
    admin, reader = key_for(tenant, "admin"), key_for(tenant, "reader")
    patched = client.patch("/settings", headers=admin, json={"source_precedence": ["crm"], "drift_auto_threshold": 0.8})
    assert patched.status_code == 200 and patched.json()["source_precedence"] == ["crm"], patched.text
    assert client.get("/settings", headers=reader).json()["drift_auto_threshold"] == 0.8
    removed = client.patch("/settings", headers=admin, json={"drift_auto_threshold": None}).json()
    assert "drift_auto_threshold" not in removed
    refused = client.patch("/settings", headers=admin, json={"api_rate_limit": {"per_second": 1e9, "burst": 1e9}})
    assert refused.status_code == 422 and "api_rate_limit" not in client.get("/settings", headers=admin).json()
    audit = client.get("/audit-log", headers=admin, params={"action": "tenant.settings"}).json()["items"]
    assert len(audit) == 2 and audit[-1]["after"] == {"source_precedence": ["crm"], "drift_auto_threshold": 0.8}


def test_platform_key_manages_tenants(rt, client):
    _, key = platform_keys.create_platform_key(rt, actor="test")
    platform = {"Authorization": f"Bearer {key}"}
    slug = f"api-p-{uuid.uuid4().hex[:8]}"
    made = client.post("/tenants", headers=platform, json={"slug": slug})
    assert made.status_code == 201, made.text
    tenant_id = made.json()["id"]
    assert client.post("/tenants", headers=platform, json={"slug": slug}).status_code == 409
    assert slug in {t["slug"] for t in _walk(client, "/tenants", platform, limit=50)}
    assert client.get(f"/tenants/{tenant_id}", headers=platform).json()["slug"] == slug
    apikeys.create_key(rt, uuid.UUID(tenant_id), "reader", actor="test")
    deleted = client.delete(f"/tenants/{tenant_id}", headers=platform)
    assert deleted.status_code == 200 and deleted.json()["tenant"]["slug"] == slug, deleted.text
    assert client.get(f"/tenants/{tenant_id}", headers=platform).status_code == 404
    assert client.get("/connections", headers=platform).status_code == 403  # no tenant data
