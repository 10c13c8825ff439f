"""Fake Salesforce and HubSpot APIs for the local server, answering in the documented shapes
(recorded responses in ``cases/``; record pages generated from the shapes shown there)."""

from __future__ import annotations

import re
from typing import Any

from tests.aam.connectors.rest.conftest import Reply, Request, case

API = "/services/data/v62.0"


class FakeSalesforce:
    """Accounts served through ``query``/``queryAll`` in pages of ``page`` with ``nextRecordsUrl``."""

    def __init__(self, base: str, accounts: list[dict[str, Any]], page: int = 2) -> None:
        self.base, self.accounts, self.page = base, accounts, page
        self.cursors: dict[str, list[dict[str, Any]]] = {}
        self.token = "sf-access-1"

    def __call__(self, request: Request) -> Reply:
        if request.path == "/services/oauth2/token":
            return 200, {}, {**case("salesforce_token.json", base=self.base), "access_token": self.token}
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        if request.path == f"{API}/sobjects/":
            return 200, {}, case("salesforce_sobjects.json")
        if request.path == f"{API}/sobjects/Account/describe":
            return 200, {}, case("salesforce_account_describe.json")
        if request.path in (f"{API}/query/", f"{API}/queryAll/"):
            rows = [a for a in self.accounts if request.path.endswith("queryAll/") or not a["IsDeleted"]]
            bound = re.search(r"SystemModstamp >= (\S+)", request.query["q"])
            if bound:
                lower = bound.group(1).replace("Z", ".000+0000")
                rows = [a for a in rows if a["SystemModstamp"] >= lower]
            rows.sort(key=lambda a: a["SystemModstamp"])
            return 200, {}, self._page(rows, "01gD0000002HU6KIAW", 0)
        match = re.fullmatch(rf"{API}/query/(\w+)-(\d+)", request.path)
        if match:
            return 200, {}, self._page(self.cursors[match.group(1)], match.group(1), int(match.group(2)))
        return 404, {}, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

    def _page(self, rows: list[dict[str, Any]], locator: str, start: int) -> dict[str, Any]:
        self.cursors[locator] = rows
        chunk = rows[start:start + self.page]
        body: dict[str, Any] = {"totalSize": len(rows), "done": start + self.page >= len(rows), "records": [
            {"attributes": {"type": "Account", "url": f"{API}/sobjects/Account/{a['Id']}"}, **a} for a in chunk]}
        if not body["done"]:
            body["nextRecordsUrl"] = f"{API}/query/{locator}-{start + self.page}"
        return body


def sf_account(i: int, modstamp: str, deleted: bool = False, **extra: Any) -> dict[str, Any]:
    return {"Id": f"001D000000Ik{i:06d}", "IsDeleted": deleted, "Name": f"Account {i}", "AnnualRevenue": 1000.0 * i,
            "NumberOfEmployees": i, "BillingAddress": {"city": "Paris", "country": "FR"}, "OwnerId": "005D0000001",
            "Industry": "Energy", "Tier__c": 1.0, "Founded__c": "2001-01-01",
            "SystemModstamp": modstamp, **extra}


class FakeHubSpot:
    """Contacts (list with ``after`` paging, search with a result limit, archived) and owners."""

    def __init__(self, contacts: list[dict[str, Any]], archived: list[dict[str, Any]] = (),
                 search_limit: int = 10_000) -> None:
        self.contacts, self.archived, self.search_limit = contacts, list(archived), search_limit
        self.token = "pat-na1-test"

    def __call__(self, request: Request) -> Reply:
        if request.path == "/oauth/v1/token":
            return 200, {}, case("hubspot_token.json", access_token=self.token, refresh_token="hs-refresh-2")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"status": "error", "message": "Authentication credentials not found.",
                             "category": "INVALID_AUTHENTICATION"}
        if request.path == "/crm/v3/properties/contacts":
            return 200, {}, case("hubspot_properties_contacts.json")
        if request.path == "/crm/v3/objects/contacts" and request.method == "GET":
            rows = self.archived if request.query.get("archived") == "true" else self.contacts
            return 200, {}, self._page(rows, int(request.query.get("after", 0)), int(request.query["limit"]))
        if request.path == "/crm/v3/objects/contacts/search":
            query = request.json()
            after, limit = int(query.get("after", 0)), query["limit"]
            if after + limit > self.search_limit:
                return 400, {}, {"status": "error", "category": "VALIDATION_ERROR",
                                 "message": f"Paging past {self.search_limit} results is not supported"}
            lower = int(query["filterGroups"][0]["filters"][0]["value"])
            rows = sorted((c for c in self.contacts if _ms(c["updatedAt"]) >= lower), key=lambda c: c["updatedAt"])
            body = self._page(rows, after, limit)
            return 200, {}, {"total": len(rows), **body}
        return 404, {}, {"status": "error", "message": "Not found", "category": "OBJECT_NOT_FOUND"}

    @staticmethod
    def _page(rows: list[dict[str, Any]], after: int, limit: int) -> dict[str, Any]:
        body: dict[str, Any] = {"results": rows[after:after + limit]}
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit),
                                       "link": f"https://api.hubapi.com/crm/v3/objects/contacts?after={after + limit}"}}
        return body


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def hs_contact(i: int, updated: str, archived: bool = False) -> dict[str, Any]:
    contact = {"id": str(5100 + i), "properties": {
        "createdate": "2024-01-01T00:00:00.000Z", "email": f"person{i}@example.com", "firstname": f"Person{i}",
        "hs_object_id": str(5100 + i), "lastmodifieddate": updated, "loyalty_tier": "gold"},
        "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": updated, "archived": archived}
    if archived:
        contact["archivedAt"] = updated
    return contact
