"""What every HTTP connector shares: the client (auth, shared rate limit, retries) and the
turning of JSON pages into records, bad records and checkpoints.

The declarative ``rest`` connector and the Salesforce and HubSpot connectors all derive from
``HttpConnector``; a page whose body is not JSON, or an item that is not an object or lacks
its key, becomes a ``BadRecord`` (quarantined) and the read goes on.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from autonomos.aam.connectors.base import BadRecord, CheckResult, Connector, Message, RecordMessage
from autonomos.aam.connectors.context import ConnectorContext
from autonomos.aam.connectors.sandbox import SourceRefused
from autonomos.aam.connectors.rest.auth import build_auth
from autonomos.aam.connectors.rest.clock import Clock, SystemClock
from autonomos.aam.connectors.rest.exceptions import RestError
from autonomos.aam.connectors.rest.http import RestClient, RetryPolicy
from autonomos.aam.connectors.rest.pagination import dig
from autonomos.aam.connectors.rest.pinned import PinnedTransport
from autonomos.aam.connectors.rest.ratelimit import TokenBucket

RAW_LIMIT = 64 * 1024


class HttpConnector(Connector):
    """Base of the HTTP connectors; subclasses say where the API is and how it authenticates."""

    uses_context = True
    default_rate_limit: dict[str, float] = {}
    """``{"per_second": ..., "burst": ...}`` used when the config sets no ``rate_limit``."""

    def __init__(self, config: dict[str, Any], credentials: dict[str, Any] | None = None, *,
                 context: ConnectorContext | None = None, clock: Clock | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config, credentials, context=context)
        self.clock = clock or SystemClock()
        self.transport = transport
        self._client: RestClient | None = None

    def base_url(self) -> str:
        return str(self.config.get("base_url", ""))

    def auth_config(self) -> dict[str, Any]:
        return dict(self.config.get("auth") or {})

    def check_sandbox(self) -> None:
        if self.sandbox is not None and self.base_url():
            url = httpx.URL(self.base_url())
            if url.scheme not in ("http", "https"):
                raise SourceRefused("a REST base_url is an http or https URL", base_url=self.base_url())
            self.sandbox.resolve(url.host, url.port or (443 if url.scheme == "https" else 80))

    @property
    def client(self) -> RestClient:
        if self._client is None:
            self.check_sandbox()
            transport = self.transport
            if self.sandbox is not None:
                transport = PinnedTransport(self.sandbox, transport)
            client = RestClient(self.base_url(), clock=self.clock, bucket=self._bucket(),
                                policy=RetryPolicy.from_config(self.config.get("retry") or {}),
                                timeout_s=float(self.config.get("timeout_seconds", 30)),
                                headers=dict(self.config.get("headers") or {}), transport=transport)
            client.auth = build_auth(self.auth_config(), self.credentials, clock=self.clock, context=self.context,
                                     post=client.post_form)
            self._client = client
        return self._client

    def _bucket(self) -> TokenBucket | None:
        limit = self.config.get("rate_limit", self.default_rate_limit)
        if not limit or self.context is None:
            return None
        per_second = float(limit["per_second"])
        return TokenBucket(self.context.redis, self.context.key("ratelimit"), per_second,
                           int(limit.get("burst", max(1, int(per_second)))), self.clock)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def check(self) -> CheckResult:
        try:
            streams = self.discover()
        except RestError as error:
            return CheckResult(False, f"cannot connect: {error}")
        return CheckResult(True, f"connected; {len(streams)} stream(s)")


def parse_page(stream: str, response: httpx.Response) -> tuple[Any, BadRecord | None]:
    """The JSON body, or a bad record holding the page when it is not JSON."""
    try:
        return response.json(), None
    except (ValueError, RecursionError) as error:
        problem = "nested too deeply to read" if isinstance(error, RecursionError) else f"not valid JSON ({error})"
        reason = f"response page is {problem} from {response.request.url.copy_with(query=None)}"
        return None, BadRecord(stream, reason, raw=response.text[:RAW_LIMIT])


def record_message(stream: str, item: Any, primary_key: tuple[str, ...] | list[str], *,
                   deleted: bool = False) -> Message:
    """One API item as a record, or a bad record when it is not an object or lacks its key."""
    if not isinstance(item, dict):
        return BadRecord(stream, f"record is not a JSON object but {type(item).__name__}",
                         raw=json.dumps(item)[:RAW_LIMIT])
    missing = [k for k in primary_key if dig(item, k) in (None, "")]
    if missing:
        return BadRecord(stream, f"missing key field(s) {', '.join(missing)}", payload=item)
    return RecordMessage(stream, item, deleted=deleted)


def later(a: Any, b: Any) -> Any:
    """The later of two cursor values (either may be None); mixed types compare as text."""
    if a is None:
        return b
    if b is None:
        return a
    try:
        return a if a > b else b
    except TypeError:
        return a if str(a) > str(b) else b


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "yes")) or value == 1
