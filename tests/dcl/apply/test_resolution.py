"""Entity resolution: match keys link records across sources, transitively; a stated source
precedence decides conflicting values, and the unified view says where each value came from."""

from __future__ import annotations

from autonomos.services import records, tenants
from autonomos.services.apply import resolve
from tests.dcl.apply.conftest import make_source

CONTACT = [{"source_field": "id", "canonical_field": "id"}, {"source_field": "email", "canonical_field": "email"},
           {"source_field": "phone", "canonical_field": "phone"}, {"source_field": "title", "canonical_field": "title"}]


def test_links_are_transitive_and_precedence_decides_conflicts(rt, make_tenant):
    tenant = make_tenant("resolve")
    a = make_source(rt, tenant.id, "sfdc", "contacts", "id")
    b = make_source(rt, tenant.id, "hubspot", "contacts", "id")
    c = make_source(rt, tenant.id, "billing", "contacts", "id")
    a.land({"id": "a1", "email": "Ada@Example.com ", "title": "CTO"})
    b.land({"id": "b1", "email": "ada@example.com", "phone": "+1 (555) 010-0000", "title": "Chief Technology Officer"})
    c.land({"id": "c1", "email": "ada.l@other.org", "phone": "15550100000"}, {"id": "c2", "email": "solo@x.io"})
    for source in (a, b, c):
        source.publish("contact", CONTACT)
    tenants.update_settings(rt, str(tenant.id), {
        "match_keys": {"contact": [{"field": "email", "normalise": "email"}, {"field": "phone", "normalise": "phone"}]},
        "source_precedence": ["hubspot"]}, actor="test")
    assert resolve(rt, tenant.id, ["contact"]) == {"contact": 2}

    [view] = records.unified_records(rt, tenant.id, "contact")
    assert sorted(m["connection"] for m in view.members) == ["billing", "hubspot", "sfdc"]
    assert view.data == {"email": "ada@example.com", "id": "b1", "phone": "+1 (555) 010-0000",
                         "title": "Chief Technology Officer"}
    assert {k: v["connection"] for k, v in view.sources.items()} == {
        "email": "hubspot", "id": "hubspot", "phone": "hubspot", "title": "hubspot"}
    assert view.conflicts["title"] == [{"value": "Chief Technology Officer", "connection": "hubspot"},
                                       {"value": "CTO", "connection": "sfdc"}]

    tenants.update_settings(rt, str(tenant.id), {"source_precedence": []}, actor="test")
    [view] = records.unified_records(rt, tenant.id, "contact")  # default: oldest connection first
    assert (view.data["title"], view.sources["title"]["connection"]) == ("CTO", "sfdc")
    assert (view.data["phone"], view.sources["phone"]["connection"]) == ("+1 (555) 010-0000", "hubspot")


def test_accounts_link_by_normalised_domain_from_domain_or_website(rt, make_tenant):
    tenant = make_tenant("resolve")
    a = make_source(rt, tenant.id, "sfdc", "accounts", "id")
    b = make_source(rt, tenant.id, "erp", "companies", "id")
    a.land({"id": "1", "Website": "https://www.Acme.com/about"})
    b.land({"id": "9", "domain": "acme.com"})
    a.publish("account", [{"source_field": "id", "canonical_field": "id"},
                          {"source_field": "Website", "canonical_field": "website"}])
    b.publish("account", [{"source_field": "id", "canonical_field": "id"},
                          {"source_field": "domain", "canonical_field": "domain"}])
    [view] = records.unified_records(rt, tenant.id, "account")
    assert view.links[0]["match_key"] == "domain" and view.links[0]["match_value"] == "acme.com"
    assert view.data == {"domain": "acme.com", "id": "1", "website": "https://www.Acme.com/about"}
