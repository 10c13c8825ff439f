"""The declarative ``rest`` connector: endpoints, record paths, keys and cursors come from config.

Config (secrets go in credentials: ``token``, ``api_key``, ``username``/``password``,
``client_id``/``client_secret``/``refresh_token``)::

    {"base_url": "https://api.example.com/v1",
     "auth": {"type": "oauth2", "token_url": "https://.../token", "grant_type": "refresh_token"},
     "rate_limit": {"per_second": 5, "burst": 10}, "retry": {"attempts": 5},
     "streams": {"customers": {"path": "/customers", "records_path": "data",
                               "primary_key": ["id"], "cursor_field": "updated_at",
                               "cursor_param": "updated_since", "params": {"status": "all"},
                               "soft_delete_field": "deleted",
                               "fields": {"id": "string", "updated_at": "datetime"},
                               "pagination": {"style": "cursor", "param": "starting_after",
                                              "token_path": "next_cursor"}}}}

State is ``{"cursor": <highest cursor value read>}`` between syncs; during a read it also holds
the next page token and the highest value seen so far, checkpointed after every page, so a
resumed read continues at the page it had reached with the same lower bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from autonomos.aam.connectors.base import BadRecord, CheckResult, FieldSpec, Message, RecordMessage, StateMessage, StreamSpec
from autonomos.aam.connectors.registry import register
from autonomos.aam.connectors.rest.base import HttpConnector, later, parse_page, record_message, truthy
from autonomos.aam.connectors.rest.exceptions import RestError
from autonomos.aam.connectors.rest.pagination import Pagination, dig
from autonomos.aam.connectors.typing import SyncMode
from autonomos.errors import ConfigurationError


@register
class RestConnector(HttpConnector):
    provider = "rest"

    @classmethod
    def spec(cls) -> dict[str, Any]:
        stream = {"type": "object", "required": ["path"], "properties": {
            "path": {"type": "string"}, "records_path": {"type": "string", "default": ""},
            "primary_key": {"type": "array", "items": {"type": "string"}},
            "cursor_field": {"type": "string"}, "cursor_param": {"type": "string"},
            "soft_delete_field": {"type": "string"}, "params": {"type": "object"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            "pagination": {"type": "object", "properties": {
                "style": {"enum": ["none", "page", "offset", "cursor", "next_url", "link_header"]},
                "param": {"type": "string"}, "size_param": {"type": "string"}, "page_size": {"type": "integer"},
                "start": {"type": "integer"}, "token_path": {"type": "string"}}},
        }}
        return {
            "type": "object", "required": ["base_url", "streams"],
            "properties": {
                "base_url": {"type": "string"}, "headers": {"type": "object"},
                "auth": {"type": "object", "properties": {
                    "type": {"enum": ["none", "bearer", "api_key", "basic", "oauth2"]},
                    "name": {"type": "string"}, "in": {"enum": ["header", "query"]},
                    "token_url": {"type": "string"}, "grant_type": {"enum": ["client_credentials", "refresh_token"]},
                    "scope": {"type": "string"}, "token_ttl_seconds": {"type": "number"}}},
                "rate_limit": {"type": "object", "properties": {"per_second": {"type": "number"},
                                                                "burst": {"type": "integer"}}},
                "retry": {"type": "object", "properties": {"attempts": {"type": "integer"},
                                                           "base_seconds": {"type": "number"},
                                                           "max_seconds": {"type": "number"}}},
                "timeout_seconds": {"type": "number", "default": 30},
                "streams": {"type": "object", "additionalProperties": stream},
                "credentials": {"type": "object", "properties": {k: {"type": "string"} for k in (
                    "token", "api_key", "username", "password", "client_id", "client_secret", "refresh_token")}},
            },
        }

    def _streams(self) -> dict[str, dict[str, Any]]:
        streams = self.config.get("streams")
        if not isinstance(streams, dict) or not streams:
            raise ConfigurationError("a rest connection needs `streams`: name -> endpoint", provider=self.provider)
        return streams

    def check(self) -> CheckResult:
        """Fetch the first page of the first stream: proves the URL, the auth and the record path."""
        try:
            name, options = next(iter(self._streams().items()))
            url, params = Pagination.from_config(options.get("pagination") or {}).request(None)
            self.client.request("GET", url or options["path"], params={**(options.get("params") or {}), **params})
        except RestError as error:
            return CheckResult(False, f"cannot read {name}: {error}")
        return CheckResult(True, f"connected; {len(self._streams())} stream(s)")

    def discover(self) -> list[StreamSpec]:
        """The configured streams (no request: fields are what the config declares)."""
        specs = []
        for name, options in self._streams().items():
            if not options.get("path"):
                raise ConfigurationError("stream needs `path`", stream=name)
            Pagination.from_config(options.get("pagination") or {})  # fail early on a bad config
            fields = tuple(FieldSpec(name=f, type=t, path=tuple(f.split(".")) if "." in f else ())
                           for f, t in (options.get("fields") or {}).items())
            key = tuple(options.get("primary_key") or ())
            specs.append(StreamSpec(name=name, fields=fields, primary_key=key,
                                    cursor_field=options.get("cursor_field"),
                                    soft_delete_field=options.get("soft_delete_field"),
                                    content_key=not key, options={"path": options["path"]}))
        return specs

    def read(self, stream: StreamSpec, state: dict[str, Any] | None, mode: SyncMode = "incremental") -> Iterator[Message]:
        options = self._streams()[stream.name]
        paging = Pagination.from_config(options.get("pagination") or {})
        cursor_field, soft = options.get("cursor_field"), options.get("soft_delete_field")
        state = state or {}
        start = state.get("cursor") if mode == "incremental" else None
        token = state.get("page")
        seen = state.get("seen")
        params = dict(options.get("params") or {})
        if start is not None and options.get("cursor_param"):
            params[options["cursor_param"]] = start
        while True:
            url, paging_params = paging.request(token)
            response = self.client.request("GET", url or options["path"], params=None if url else {**params, **paging_params})
            body, bad = parse_page(stream.name, response)
            if bad is not None:
                yield bad
                token = paging.skip(token)
            else:
                items = dig(body, options.get("records_path", ""))
                if not isinstance(items, list):
                    yield BadRecord(stream.name, f"no record list at `{options.get('records_path', '')}`",
                                    raw=response.text[:64 * 1024])
                    items = []
                for item in items:
                    message = record_message(stream.name, item, stream.primary_key)
                    if isinstance(message, RecordMessage):
                        if soft and truthy(item.get(soft)):
                            message = RecordMessage(stream.name, item, deleted=True)
                        if cursor_field:
                            seen = later(seen, dig(item, cursor_field))
                    yield message
                token = paging.next(token, response, body, len(items))
            if token is None:
                break
            yield StateMessage(stream.name, {**({"cursor": start} if start is not None else {}),
                                             "page": token, "seen": seen})
        final = later(start, seen)
        yield StateMessage(stream.name, {"cursor": final} if final is not None else {})
