"""The ``hubspot`` connector: CRM v3 objects over the HubSpot API.

Streams are ``companies``, ``contacts``, ``deals``, ``owners`` and the engagement objects
(``engagements`` expands to ``calls``, ``emails``, ``meetings``, ``notes``, ``tasks``). Discovery
reads the properties API (every property, custom ones included) as ``properties.<name>``
fields next to ``id``, ``createdAt``, ``updatedAt``, ``archived``.

The first read (and every ``full`` read) pages the list endpoint with ``after`` cursors;
incremental reads use the search API on the last-modified property (``hs_lastmodifieddate``,
``lastmodifieddate`` for contacts), ascending, from the cursor minus the look-back. The search
API serves at most ``search_limit`` (10,000) results per query, so before the next page would
pass it the window restarts at the last modified time seen (records at that instant are read
twice; the landing dedupes them). Archived records (``archived=true``) land as deletes: all of
them on a list read, those archived since the lower bound on an incremental one. Owners have
no search API and are listed in full each time.

Auth: a private app's ``access_token`` (bearer), or OAuth (``client_id``, ``client_secret``,
``refresh_token`` against ``/oauth/v1/token``; HubSpot access tokens live 30 minutes).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from autonomos.aam.connectors.base import FieldSpec, Message, RecordMessage, StateMessage, StreamSpec
from autonomos.aam.connectors.registry import register
from autonomos.aam.connectors.rest.base import HttpConnector, later, parse_page, record_message
from autonomos.aam.connectors.rest.exceptions import RestError
from autonomos.aam.connectors.rest.pagination import dig
from autonomos.aam.connectors.typing import FieldType, SyncMode

ENGAGEMENTS = ("calls", "emails", "meetings", "notes", "tasks")
DEFAULT_OBJECTS = ("companies", "contacts", "deals", "owners", "engagements")
MODIFIED = {"contacts": "lastmodifieddate"}
"""Search property of the last-modified time, where it is not ``hs_lastmodifieddate``."""
TYPES: dict[str, FieldType] = {"string": "string", "enumeration": "string", "phone_number": "string",
                               "number": "number", "bool": "boolean", "date": "date", "datetime": "datetime",
                               "json": "object"}
OWNER_FIELDS: tuple[tuple[str, FieldType], ...] = (
    ("id", "string"), ("email", "string"), ("firstName", "string"), ("lastName", "string"),
    ("userId", "integer"), ("createdAt", "datetime"), ("updatedAt", "datetime"), ("archived", "boolean"),
    ("teams", "array"))
RECORD_FIELDS: tuple[tuple[str, FieldType], ...] = (
    ("id", "string"), ("createdAt", "datetime"), ("updatedAt", "datetime"), ("archived", "boolean"),
    ("archivedAt", "datetime"))


def millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


@register
class HubSpotConnector(HttpConnector):
    provider = "hubspot"
    default_rate_limit = {"per_second": 9, "burst": 10}

    @classmethod
    def spec(cls) -> dict[str, Any]:
        return {"type": "object", "properties": {
            "objects": {"type": "array", "items": {"type": "string"}, "default": list(DEFAULT_OBJECTS)},
            "page_size": {"type": "integer", "default": 100, "maximum": 100},
            "lookback_seconds": {"type": "number", "default": 60},
            "search_limit": {"type": "integer", "default": 10_000},
            "base_url": {"type": "string", "default": "https://api.hubapi.com"},
            "rate_limit": {"type": "object"}, "retry": {"type": "object"},
            "credentials": {"type": "object", "properties": {k: {"type": "string"} for k in (
                "access_token", "client_id", "client_secret", "refresh_token")}},
        }}

    def base_url(self) -> str:
        return str(self.config.get("base_url", "https://api.hubapi.com")).rstrip("/")

    def auth_config(self) -> dict[str, Any]:
        if self.credentials.get("access_token"):
            return {"type": "bearer"}
        return {"type": "oauth2", "grant_type": "refresh_token", "token_url": f"{self.base_url()}/oauth/v1/token"}

    def _objects(self) -> list[str]:
        out: list[str] = []
        for name in self.config.get("objects", DEFAULT_OBJECTS):
            out.extend(ENGAGEMENTS if name == "engagements" else [name])
        return out

    @property
    def page_size(self) -> int:
        return max(1, min(100, int(self.config.get("page_size", 100))))

    def discover(self) -> list[StreamSpec]:
        specs = []
        for name in self._objects():
            if name == "owners":
                fields = tuple(FieldSpec(n, t) for n, t in OWNER_FIELDS)
                specs.append(StreamSpec(name, fields, ("id",), "updatedAt"))
                continue
            body = self.client.request("GET", f"/crm/v3/properties/{name}").json()
            props = body.get("results", [])
            fields = tuple(FieldSpec(n, t) for n, t in RECORD_FIELDS) + tuple(
                FieldSpec(f"properties.{p['name']}", TYPES.get(p.get("type", ""), "unknown"),
                          path=("properties", p["name"]), description=p.get("label")) for p in props)
            specs.append(StreamSpec(name, fields, ("id",), "updatedAt",
                                    options={"properties": [p["name"] for p in props]}))
        return specs

    def read(self, stream: StreamSpec, state: dict[str, Any] | None, mode: SyncMode = "incremental") -> Iterator[Message]:
        state = state or {}
        start = state.get("cursor") if mode == "incremental" and stream.name != "owners" else None
        seen = state.get("seen")
        lookback = timedelta(seconds=float(self.config.get("lookback_seconds", 60)))
        since = millis(start) - int(lookback.total_seconds() * 1000) if start else None
        phases = ["list", "archived"] if since is None else ["search", "archived"]
        first = phases.index(state["phase"]) if state.get("phase") in phases else 0
        position = {k: state[k] for k in ("after", "lower") if k in state}
        for phase in phases[first:]:
            if phase == "search":
                pages = self._search(stream, position.get("lower", since), position.get("after"))
            else:
                pages = self._list(stream, phase == "archived", position.get("after"), since)
            for message in pages:
                if isinstance(message, StateMessage):
                    yield StateMessage(stream.name, {**({"cursor": start} if start else {}), "phase": phase,
                                                     **message.state, "seen": seen})
                    continue
                if isinstance(message, RecordMessage) and not message.deleted:
                    seen = later(seen, message.data.get("updatedAt"))
                yield message
            position = {}
            if phase != phases[-1]:
                yield StateMessage(stream.name, {**({"cursor": start} if start else {}),
                                                 "phase": phases[phases.index(phase) + 1], "seen": seen})
        final = later(start, seen)
        yield StateMessage(stream.name, {"cursor": final} if final else {})

    def _list(self, stream: StreamSpec, archived: bool, after: str | None, since: int | None) -> Iterator[Message]:
        """The list endpoint page by page; archived items land as deletes (those since ``since``)."""
        path = "/crm/v3/owners/" if stream.name == "owners" else f"/crm/v3/objects/{stream.name}"
        properties = stream.options.get("properties")
        while True:
            params: dict[str, Any] = {"limit": self.page_size, "archived": "true" if archived else "false"}
            if after:
                params["after"] = after
            if properties:
                params["properties"] = ",".join(properties)
            body, bad = parse_page(stream.name, self.client.request("GET", path, params=params))
            if bad is not None:
                yield bad  # no cursor to follow past a broken page
                return
            for item in body.get("results", []):
                archived_at = item.get("archivedAt") if isinstance(item, dict) else None
                if archived and since is not None and archived_at and millis(archived_at) < since:
                    continue
                yield record_message(stream.name, item, stream.primary_key, deleted=archived)
            after = dig(body, "paging.next.after")
            if not after:
                return
            yield StateMessage(stream.name, {"after": after})

    def _search(self, stream: StreamSpec, lower: int, after: str | None) -> Iterator[Message]:
        """Records modified at or after ``lower`` (ms), ascending, windowed under the search limit."""
        prop = MODIFIED.get(stream.name, "hs_lastmodifieddate")
        limit = int(self.config.get("search_limit", 10_000))
        while True:
            query: dict[str, Any] = {
                "filterGroups": [{"filters": [{"propertyName": prop, "operator": "GTE", "value": str(lower)}]}],
                "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
                "properties": stream.options.get("properties") or [], "limit": self.page_size,
            }
            if after:
                query["after"] = after
            response = self.client.request("POST", f"/crm/v3/objects/{stream.name}/search", json=query)
            body, bad = parse_page(stream.name, response)
            if bad is not None:
                yield bad
                return
            last = lower
            for item in body.get("results", []):
                message = record_message(stream.name, item, stream.primary_key)
                if isinstance(message, RecordMessage) and item.get("updatedAt"):
                    last = max(last, millis(item["updatedAt"]))
                yield message
            after = dig(body, "paging.next.after")
            if not after:
                return
            if int(after) + self.page_size > limit:
                if last <= lower:
                    raise RestError("more records share one modified time than the search API can page",
                                    stream=stream.name, limit=limit)
                lower, after = last, None  # a new window from the last modified time seen
            yield StateMessage(stream.name, {"lower": lower, "after": after} if after else {"lower": lower})
