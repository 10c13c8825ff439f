"""Salesforce on the REST framework: describe discovery, SOQL paging, incremental, deletes, refresh."""

from __future__ import annotations

from autonomos.aam.connectors import RecordMessage, StateMessage
from autonomos.aam.connectors.rest.salesforce import SalesforceConnector
from autonomos.services import connections
from tests.aam.connectors.rest.vendors import FakeSalesforce, sf_account

CREDENTIALS = {"client_id": "3MVG9-consumer-key", "client_secret": "consumer-secret", "refresh_token": "5Aep-refresh"}


def _config(vendor):
    return {"login_url": vendor.base, "api_version": "v62.0", "objects": ["Account", "Missing"],
            "lookback_seconds": 300}


def test_discovery_describes_every_field_with_its_type(vendor, clock, connection):
    vendor.app = FakeSalesforce(vendor.base, [])
    _, _, context = connection("salesforce", _config(vendor), CREDENTIALS)
    streams = SalesforceConnector(_config(vendor), CREDENTIALS, context=context, clock=clock).discover()
    assert [s.name for s in streams] == ["Account"]  # Missing is not in this org: skipped
    account = streams[0]
    types = {f.name: f.type for f in account.fields}
    assert types == {"Id": "string", "IsDeleted": "boolean", "Name": "string", "AnnualRevenue": "number",
                     "NumberOfEmployees": "integer", "BillingAddress": "object", "OwnerId": "string",
                     "Industry": "string", "Tier__c": "number", "Founded__c": "date", "Logo__c": "string",
                     "SystemModstamp": "datetime"}
    assert (account.primary_key, account.cursor_field, account.soft_delete_field) == (("Id",), "SystemModstamp", "IsDeleted")
    assert "Logo__c" not in account.options["select"]  # base64 bodies are not selected


def test_query_all_pages_by_next_records_url_and_lands_deletes(rt, vendor, clock, connection):
    accounts = [sf_account(i, f"2024-05-0{i + 1}T10:00:00.000+0000") for i in range(4)]
    accounts.append(sf_account(9, "2024-05-06T10:00:00.000+0000", deleted=True))
    fake = FakeSalesforce(vendor.base, accounts)
    vendor.app = fake
    tenant, info, context = connection("salesforce", _config(vendor), CREDENTIALS)
    connector = SalesforceConnector(_config(vendor), CREDENTIALS, context=context, clock=clock)
    stream = connector.discover()[0]
    messages = list(connector.read(stream, None))
    records = [m for m in messages if isinstance(m, RecordMessage)]
    assert [r.data["Id"] for r in records] == [a["Id"] for a in accounts]
    assert [r.deleted for r in records] == [False] * 4 + [True]
    assert "attributes" not in records[0].data
    states = [m.state for m in messages if isinstance(m, StateMessage)]
    assert states[0]["next"].startswith("/services/data/v62.0/query/01gD0000002HU6KIAW-")
    assert states[-1] == {"cursor": "2024-05-06T10:00:00.000+0000"}
    query = next(r for r in vendor.requests if r.path.endswith("/queryAll/")).query["q"]
    assert query.startswith("SELECT Id, IsDeleted, Name,") and query.endswith("FROM Account ORDER BY SystemModstamp ASC")
    assert vendor.requests[0].form()["grant_type"] == "refresh_token"

    # Incremental: from the cursor minus the 5-minute look-back, inclusive.
    deleted_id = accounts[-1]["Id"]
    fake.accounts.append(sf_account(10, "2024-05-07T10:00:00.000+0000"))
    again = list(connector.read(stream, states[-1]))
    assert "WHERE SystemModstamp >= 2024-05-06T09:55:00Z" in vendor.requests[-1].query["q"]
    assert [m.data["Id"] for m in again if isinstance(m, RecordMessage)] == [deleted_id, "001D000000Ik000010"]


def test_expired_session_refreshes_and_takes_instance_url_from_the_token(rt, vendor, clock, connection):
    fake = FakeSalesforce(vendor.base, [sf_account(1, "2024-05-01T10:00:00.000+0000")])
    vendor.app = fake
    config = _config(vendor) | {"objects": ["Account"]}
    tenant, info, context = connection("salesforce", config, CREDENTIALS)
    connector = SalesforceConnector(config, CREDENTIALS, context=context, clock=clock)
    stream = connector.discover()
    fake.token = "sf-access-2"  # the session expires
    assert len([m for m in connector.read(stream[0], None) if isinstance(m, RecordMessage)]) == 1
    assert [r.path for r in vendor.requests].count("/services/oauth2/token") == 2
    assert context.cache_get("oauth_token")["instance_url"] == vendor.base
    assert connections.connection_credentials(rt, tenant, info.id) == CREDENTIALS  # not rotated: unchanged
