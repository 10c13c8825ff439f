"""HubSpot on the REST framework: properties discovery, after paging, search windows, archived."""

from __future__ import annotations

from autonomos.aam.connectors import RecordMessage, StateMessage
from autonomos.aam.connectors.rest.hubspot import HubSpotConnector
from autonomos.services import connections
from tests.aam.connectors.rest.vendors import FakeHubSpot, hs_contact


def _config(vendor, **extra):
    return {"base_url": vendor.base, "objects": ["contacts"], "page_size": 2, "lookback_seconds": 0, **extra}


def _ids(messages, deleted=False):
    return [m.data["id"] for m in messages if isinstance(m, RecordMessage) and m.deleted == deleted]


def test_discovery_reads_every_property_including_custom(vendor, clock):
    vendor.app = FakeHubSpot([])
    stream = HubSpotConnector(_config(vendor), {"access_token": "pat-na1-test"}, clock=clock).discover()[0]
    fields = {f.name: f for f in stream.fields}
    assert fields["properties.loyalty_tier"].type == "string" and fields["properties.loyalty_tier"].path == (
        "properties", "loyalty_tier")
    assert fields["properties.num_notes"].type == "number" and fields["properties.lastmodifieddate"].type == "datetime"
    assert (stream.primary_key, stream.cursor_field) == (("id",), "updatedAt")
    assert stream.options["properties"][:2] == ["email", "firstname"]


def test_list_pages_by_after_then_archived_records_land_as_deletes(vendor, clock):
    contacts = [hs_contact(i, f"2024-05-0{i + 1}T00:00:00.000Z") for i in range(5)]
    vendor.app = FakeHubSpot(contacts, archived=[hs_contact(7, "2024-05-08T00:00:00.000Z", archived=True)])
    connector = HubSpotConnector(_config(vendor), {"access_token": "pat-na1-test"}, clock=clock)
    messages = list(connector.read(connector.discover()[0], None))
    assert _ids(messages) == [c["id"] for c in contacts] and _ids(messages, deleted=True) == ["5107"]
    lists = [r for r in vendor.requests if r.path == "/crm/v3/objects/contacts"]
    assert [r.query.get("after") for r in lists] == [None, "2", "4", None]
    assert lists[0].query["properties"].startswith("email,firstname")
    assert messages[-1] == StateMessage("contacts", {"cursor": "2024-05-05T00:00:00.000Z"})


def test_search_windows_by_time_past_the_result_limit(vendor, clock):
    contacts = [hs_contact(i, f"2024-06-01T00:00:{i:02d}.000Z") for i in range(11)]
    fake = FakeHubSpot(contacts, search_limit=4)  # stands in for HubSpot's 10,000
    vendor.app = fake
    connector = HubSpotConnector(_config(vendor, search_limit=4), {"access_token": "pat-na1-test"}, clock=clock)
    messages = list(connector.read(connector.discover()[0], {"cursor": "2024-06-01T00:00:00.000Z"}))
    assert sorted(set(_ids(messages))) == sorted(c["id"] for c in contacts)
    searches = [r.json() for r in vendor.requests if r.path.endswith("/search")]
    lowers = [s["filterGroups"][0]["filters"][0]["value"] for s in searches]
    assert len(set(lowers)) >= 3  # the lower bound advanced by the last modified time seen
    assert all(int(s.get("after", 0)) + s["limit"] <= 4 for s in searches)
    assert searches[0]["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert messages[-1].state == {"cursor": "2024-06-01T00:00:10.000Z"}


def test_oauth_refresh_rotates_the_refresh_token_encrypted(rt, vendor, clock, connection):
    fake = FakeHubSpot([hs_contact(1, "2024-05-01T00:00:00.000Z")])
    vendor.app = fake
    credentials = {"client_id": "hs-client", "client_secret": "hs-secret", "refresh_token": "hs-refresh-1"}
    tenant, info, context = connection("hubspot", _config(vendor), credentials)
    connector = HubSpotConnector(_config(vendor), credentials, context=context, clock=clock)
    assert _ids(connector.read(connector.discover()[0], None)) == ["5101"]
    assert vendor.requests[0].form()["refresh_token"] == "hs-refresh-1"
    assert connections.connection_credentials(rt, tenant, info.id)["refresh_token"] == "hs-refresh-2"
    assert context.cache_get("oauth_token")["access_token"] == fake.token
