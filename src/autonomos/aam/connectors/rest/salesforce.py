"""The ``salesforce`` connector: describe-based discovery and SOQL reads over the REST API.

Discovery lists ``/sobjects/`` and describes each configured object: every field with its type
mapped to our FieldType words, key ``Id``, cursor ``SystemModstamp`` (else ``LastModifiedDate``),
soft-delete flag ``IsDeleted``. Reads run one SOQL query per object through ``queryAll`` when the
object has ``IsDeleted`` (so deleted rows come back and land as deletes), follow
``nextRecordsUrl`` page by page and checkpoint it; incremental reads select
``SystemModstamp >= last value - lookback`` (the look-back re-reads late commits; the landing
dedupes them). A locator that expired while a run was paused restarts the query from the cursor.

Auth: OAuth2 refresh-token flow against ``<login_url>/services/oauth2/token`` (credentials
``client_id``, ``client_secret``, ``refresh_token``); the API host is the ``instance_url`` of
the token response unless the config pins one. Or a static ``access_token`` with
``instance_url`` in the config.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from autonomos.aam.connectors.base import FieldSpec, Message, RecordMessage, StateMessage, StreamSpec
from autonomos.aam.connectors.registry import register
from autonomos.aam.connectors.rest.auth import OAuth2Auth
from autonomos.aam.connectors.rest.base import HttpConnector, later, parse_page, record_message, truthy
from autonomos.aam.connectors.rest.exceptions import HttpStatusError
from autonomos.aam.connectors.typing import FieldType, SyncMode
from autonomos.errors import ConfigurationError

TYPES: dict[str, FieldType] = {
    "id": "string", "reference": "string", "string": "string", "textarea": "string", "picklist": "string",
    "multipicklist": "string", "combobox": "string", "phone": "string", "email": "string", "url": "string",
    "encryptedstring": "string", "time": "string", "base64": "string", "boolean": "boolean", "int": "integer",
    "long": "integer", "double": "number", "currency": "number", "percent": "number", "date": "date",
    "datetime": "datetime", "address": "object", "location": "object", "anyType": "unknown",
}
"""Salesforce describe ``type`` -> FieldType."""

DEFAULT_OBJECTS = ("Account", "Contact", "Lead", "Opportunity", "User", "Task", "Event")
CURSORS = ("SystemModstamp", "LastModifiedDate", "CreatedDate")


def soql_datetime(value: str, minus: timedelta) -> str:
    """A Salesforce datetime (``2024-05-01T10:00:00.000+0000``) minus ``minus`` as a SOQL literal."""
    moment = datetime.fromisoformat(value.replace("+0000", "+00:00").replace("Z", "+00:00"))
    return (moment.astimezone(timezone.utc) - minus).strftime("%Y-%m-%dT%H:%M:%SZ")


@register
class SalesforceConnector(HttpConnector):
    provider = "salesforce"
    default_rate_limit = {"per_second": 20, "burst": 25}

    @classmethod
    def spec(cls) -> dict[str, Any]:
        return {"type": "object", "properties": {
            "login_url": {"type": "string", "default": "https://login.salesforce.com",
                          "description": "https://test.salesforce.com for sandboxes, or My Domain"},
            "instance_url": {"type": "string", "description": "default: from the token response"},
            "api_version": {"type": "string", "default": "v62.0"},
            "objects": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"const": "*"}],
                        "default": list(DEFAULT_OBJECTS)},
            "lookback_seconds": {"type": "number", "default": 300},
            "rate_limit": {"type": "object"}, "retry": {"type": "object"},
            "credentials": {"type": "object", "properties": {k: {"type": "string"} for k in (
                "client_id", "client_secret", "refresh_token", "access_token")}},
        }}

    def base_url(self) -> str:
        return str(self.config.get("login_url", "https://login.salesforce.com")).rstrip("/")

    def auth_config(self) -> dict[str, Any]:
        if self.credentials.get("access_token"):
            if not self.config.get("instance_url"):
                raise ConfigurationError("a static access_token needs `instance_url` in the config")
            return {"type": "bearer"}
        return {"type": "oauth2", "grant_type": "refresh_token", "token_url": f"{self.base_url()}/services/oauth2/token",
                "token_ttl_seconds": self.config.get("token_ttl_seconds", 3600)}

    def _host(self) -> str:
        """The org's API host: pinned in the config, else the token response's ``instance_url``."""
        auth = self.client.auth
        instance = self.config.get("instance_url")
        if not instance and isinstance(auth, OAuth2Auth):
            auth.access_token()
            instance = auth.info.get("instance_url")
        if not instance:
            raise ConfigurationError("no instance_url: set it in the config or use the OAuth flow")
        return str(instance).rstrip("/")

    def _api(self, path: str) -> str:
        return f"{self._host()}/services/data/{self.config.get('api_version', 'v62.0')}/{path}"

    def _get(self, path: str) -> Any:
        return self.client.request("GET", self._api(path)).json()

    def discover(self) -> list[StreamSpec]:
        listing = {o["name"]: o for o in self._get("sobjects/").get("sobjects", [])}
        wanted = self.config.get("objects", list(DEFAULT_OBJECTS))
        if wanted == "*":
            wanted = [n for n, o in listing.items() if o.get("queryable") and o.get("replicateable", True)]
        specs = []
        for name in wanted:
            if name not in listing:
                continue  # an edition or permission set without it
            described = self._get(f"sobjects/{name}/describe")
            fields = tuple(FieldSpec(name=f["name"], type=TYPES.get(f.get("type", ""), "unknown"),
                                     nullable=bool(f.get("nillable", True)), description=f.get("label"))
                           for f in described.get("fields", []))
            names = {f.name for f in fields}
            specs.append(StreamSpec(
                name=name, fields=fields, primary_key=("Id",),
                cursor_field=next((c for c in CURSORS if c in names), None),
                soft_delete_field="IsDeleted" if "IsDeleted" in names else None,
                options={"select": [f["name"] for f in described.get("fields", []) if f.get("type") != "base64"]},
            ))
        return specs

    def _soql(self, stream: StreamSpec, start: str | None) -> str:
        select = stream.options.get("select") or stream.field_names()
        soql = f"SELECT {', '.join(select)} FROM {stream.name}"
        cursor = stream.cursor_field
        if cursor and start is not None:
            lookback = timedelta(seconds=float(self.config.get("lookback_seconds", 300)))
            soql += f" WHERE {cursor} >= {soql_datetime(start, lookback)}"
        return soql + (f" ORDER BY {cursor} ASC" if cursor else "")

    def read(self, stream: StreamSpec, state: dict[str, Any] | None, mode: SyncMode = "incremental") -> Iterator[Message]:
        state = state or {}
        start = state.get("cursor") if mode == "incremental" else None
        seen = state.get("seen")
        endpoint = "queryAll/" if stream.soft_delete_field else "query/"
        query = self._soql(stream, start)
        try:
            response = (self.client.request("GET", self._host() + state["next"])
                        if state.get("next") else self.client.request("GET", self._api(endpoint), params={"q": query}))
        except HttpStatusError:
            if not state.get("next"):
                raise
            response = self.client.request("GET", self._api(endpoint), params={"q": query})  # locator expired
        while True:
            body, bad = parse_page(stream.name, response)
            if bad is not None:
                yield bad  # no nextRecordsUrl to follow: the next sync re-reads from the cursor
                break
            for item in body.get("records", []):
                if isinstance(item, dict):
                    item = {k: v for k, v in item.items() if k != "attributes"}
                message = record_message(stream.name, item, stream.primary_key)
                if isinstance(message, RecordMessage):
                    if stream.soft_delete_field and truthy(item.get(stream.soft_delete_field)):
                        message = RecordMessage(stream.name, item, deleted=True)
                    if stream.cursor_field:
                        seen = later(seen, item.get(stream.cursor_field))
                yield message
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) or not next_url:
                break
            yield StateMessage(stream.name, {**({"cursor": start} if start else {}), "next": next_url, "seen": seen})
            response = self.client.request("GET", self._host() + next_url)
        final = later(start, seen)
        yield StateMessage(stream.name, {"cursor": final} if final else {})
