"""The declarative REST connector against a local server: pagination, auth, retries, limits."""

from __future__ import annotations

import pytest

from autonomos.aam.connectors import BadRecord, RecordMessage, StateMessage
from autonomos.aam.connectors.rest import RestConnector
from autonomos.aam.connectors.rest.exceptions import HttpStatusError
from autonomos.services import connections
from tests.aam.connectors.rest.conftest import FakeClock

CUSTOMERS = [{"id": f"c{i}", "name": f"Customer {i}", "updated_at": f"2024-05-0{i + 1}T00:00:00Z"} for i in range(5)]


def _config(vendor, pagination, **stream):
    return {"base_url": vendor.base, "auth": {"type": "bearer"}, "retry": {"attempts": 4, "base_seconds": 1},
            "streams": {"customers": {"path": "/v1/customers", "records_path": "data", "primary_key": ["id"],
                                      "cursor_field": "updated_at", "cursor_param": "updated_since",
                                      "pagination": pagination, **stream}}}


def _read(connector, state=None, mode="incremental"):
    stream = connector.discover()[0]
    return list(connector.read(stream, state, mode))


def _records(messages):
    return [m.data["id"] for m in messages if isinstance(m, RecordMessage)]


def _paged_app(style):
    """Serve CUSTOMERS two a page in the given style; the last page is empty for ``cursor``."""

    def app(request):
        q = request.query
        if style == "page":
            n = int(q.get("page", 1))
            return 200, {}, {"data": CUSTOMERS[(n - 1) * 2:n * 2]}
        if style == "offset":
            o = int(q.get("offset", 0))
            return 200, {}, {"data": CUSTOMERS[o:o + 2]}
        start = int(q.get("after", q.get("start", 0)))
        page = CUSTOMERS[start:start + 2]
        more = start + 2 <= len(CUSTOMERS)  # cursor: one extra, empty page at the end
        if style == "cursor":
            return 200, {}, {"data": page, "next": str(start + 2) if more else None}
        if style == "next_url":
            return 200, {}, {"data": page, "links": {"next": f"/v1/customers?start={start + 2}" if more else None}}
        headers = {"Link": f'</v1/customers?start={start + 2}>; rel="next"'} if start + 2 < len(CUSTOMERS) else {}
        return 200, headers, {"data": page}

    return app


@pytest.mark.parametrize("pagination", [
    {"style": "page", "page_size": 2, "size_param": "per_page"},
    {"style": "offset", "page_size": 2, "size_param": "limit"},
    {"style": "cursor", "param": "after", "token_path": "next"},
    {"style": "next_url", "token_path": "links.next"},
    {"style": "link_header"},
])
def test_every_pagination_style_reads_to_the_last_page_and_checkpoints_each(vendor, clock, pagination):
    vendor.app = _paged_app(pagination["style"])
    connector = RestConnector(_config(vendor, pagination), {"token": "t0k"}, clock=clock)
    messages = _read(connector)
    assert _records(messages) == [c["id"] for c in CUSTOMERS]
    states = [m.state for m in messages if isinstance(m, StateMessage)]
    assert states[-1] == {"cursor": "2024-05-05T00:00:00Z"}
    assert all("page" in s for s in states[:-1]) and len(states) >= 3
    assert all(r.headers["authorization"] == "Bearer t0k" for r in vendor.requests)
    # Resuming from a mid-read checkpoint continues at that page, with the same lower bound.
    resumed = _read(RestConnector(_config(vendor, pagination), {"token": "t0k"}, clock=clock), states[1])
    assert _records(resumed) == [c["id"] for c in CUSTOMERS[4:]]


def test_incremental_read_sends_the_cursor_and_an_empty_page_ends_it(vendor, clock):
    vendor.app = lambda r: (200, {}, {"data": [], "next": None})
    connector = RestConnector(_config(vendor, {"style": "cursor", "param": "after", "token_path": "next"}),
                              {"token": "t"}, clock=clock)
    messages = _read(connector, {"cursor": "2024-05-05T00:00:00Z"})
    assert vendor.requests[0].query["updated_since"] == "2024-05-05T00:00:00Z"
    assert messages == [StateMessage("customers", {"cursor": "2024-05-05T00:00:00Z"})]


def test_api_key_in_query_and_basic_auth(vendor, clock):
    vendor.app = lambda r: (200, {}, {"data": CUSTOMERS[:1]})
    config = _config(vendor, {})
    config["auth"] = {"type": "api_key", "name": "api_key", "in": "query"}
    _read(RestConnector(config, {"api_key": "k3y"}, clock=clock))
    assert vendor.requests[-1].query["api_key"] == "k3y"
    config["auth"] = {"type": "basic"}
    _read(RestConnector(config, {"username": "u", "password": "p"}, clock=clock))
    assert vendor.requests[-1].headers["authorization"] == "Basic dTpw"


def test_401_refreshes_the_token_caches_it_and_stores_the_rotated_refresh_token(rt, vendor, clock, connection):
    def app(request):
        if request.path == "/oauth/token":
            form = request.form()
            assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "refresh-1"
            return 200, {}, {"access_token": "fresh", "refresh_token": "refresh-2", "expires_in": 3600}
        if request.headers.get("authorization") != "Bearer fresh":
            return 401, {}, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        return 200, {}, {"data": CUSTOMERS[:2]}

    vendor.app = app
    config = _config(vendor, {})
    config["auth"] = {"type": "oauth2", "token_url": f"{vendor.base}/oauth/token", "grant_type": "refresh_token"}
    credentials = {"client_id": "cid", "client_secret": "csecret", "refresh_token": "refresh-1"}
    tenant, info, context = connection("rest", config, credentials)
    context.cache_set("oauth_token", {"access_token": "stale", "expires_at": clock.now() + 3000}, 3000)

    messages = _read(RestConnector(config, credentials, context=context, clock=clock))
    assert _records(messages) == ["c0", "c1"]
    assert [r.path for r in vendor.requests] == ["/v1/customers", "/oauth/token", "/v1/customers"]
    assert context.cache_get("oauth_token")["access_token"] == "fresh"
    assert b"fresh" not in rt.redis.get(context.key("cache", "oauth_token"))  # cached encrypted
    stored = connections.connection_credentials(rt, tenant, info.id)
    assert stored == {**credentials, "refresh_token": "refresh-2"}
    # A second connector (another worker) reuses the cached token: no token request.
    _read(RestConnector(config, stored, context=context, clock=clock))
    assert [r.path for r in vendor.requests].count("/oauth/token") == 1


def test_429_waits_for_retry_after_on_the_injected_clock(vendor, clock):
    replies = iter([(429, {"Retry-After": "7"}, {"message": "slow down"}), (200, {}, {"data": CUSTOMERS[:1]})])
    vendor.app = lambda r: next(replies)
    assert _records(_read(RestConnector(_config(vendor, {}), {"token": "t"}, clock=clock))) == ["c0"]
    assert clock.sleeps == [7.0]


def test_5xx_is_retried_with_backoff_then_succeeds(vendor, clock):
    replies = iter([(503, {}, "unavailable"), (502, {}, "bad gateway"), (200, {}, {"data": CUSTOMERS[:1]})])
    vendor.app = lambda r: next(replies)
    assert _records(_read(RestConnector(_config(vendor, {}), {"token": "t"}, clock=clock))) == ["c0"]
    assert len(clock.sleeps) == 2 and 1 <= clock.sleeps[0] <= 2 and 2 <= clock.sleeps[1] <= 3  # 1s, 2s (+ jitter)


def test_4xx_that_retrying_cannot_fix_is_not_retried(vendor, clock):
    vendor.app = lambda r: (404, {}, {"error": "not_found"})
    with pytest.raises(HttpStatusError) as raised:
        _read(RestConnector(_config(vendor, {}), {"token": "t"}, clock=clock))
    assert raised.value.status == 404 and len(vendor.requests) == 1 and clock.sleeps == []


def test_malformed_json_page_is_a_bad_record_and_the_read_goes_on(vendor, clock):
    def app(request):
        n = int(request.query.get("page", 1))
        if n == 2:
            return 200, {}, '{"data": [{"id": "c2", "name": "trunc'
        if n == 3:
            return 200, {}, {"data": [CUSTOMERS[4], "not an object", {"name": "no key"}]}
        return 200, {}, {"data": CUSTOMERS[(n - 1) * 3:n * 3]}

    vendor.app = app
    messages = _read(RestConnector(_config(vendor, {"style": "page", "page_size": 3}), {"token": "t"}, clock=clock))
    bad = [m for m in messages if isinstance(m, BadRecord)]
    assert _records(messages) == ["c0", "c1", "c2", "c4"]
    assert "not valid JSON" in bad[0].reason and "trunc" in bad[0].raw
    assert "not a JSON object" in bad[1].reason and "missing key field(s) id" in bad[2].reason


def test_rate_limit_bucket_is_shared_by_two_connector_instances(vendor, connection):
    vendor.app = lambda r: (200, {}, {"data": CUSTOMERS[:1]})
    config = {**_config(vendor, {}), "rate_limit": {"per_second": 1, "burst": 2}}
    _, _, context = connection("rest", config, {"token": "t"})
    first, second = FakeClock(), FakeClock()  # two workers, clocks in step
    a = RestConnector(config, {"token": "t"}, context=context, clock=first)
    b = RestConnector(config, {"token": "t"}, context=context, clock=second)
    _read(a)
    _read(b)  # the burst of 2 is spent by the two workers together
    assert first.sleeps == [] and second.sleeps == []
    _read(a)
    assert first.sleeps == [pytest.approx(1.0)]  # a third request waits for a refill
    second.t = first.t
    _read(b)
    assert second.sleeps == [pytest.approx(1.0)]
    assert context.redis.exists(context.key("ratelimit"))


def test_check_reads_the_first_page_and_says_why_it_fails(vendor, clock):
    vendor.app = lambda r: (200, {}, {"data": []}) if r.headers.get("authorization") == "Bearer ok" else (403, {}, {})
    assert RestConnector(_config(vendor, {}), {"token": "ok"}, clock=clock).check().ok
    refused = RestConnector(_config(vendor, {}), {"token": "no"}, clock=clock).check()
    assert not refused.ok and "HTTP 403" in refused.message
