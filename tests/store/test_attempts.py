"""How a failure is classified and recorded: outage, transient (from any cause), terminal."""

from __future__ import annotations

import psycopg
import redis

from autonomos.aam.connectors.rest.exceptions import HttpStatusError, RetryableHttpError
from autonomos.aam.sync.exceptions import ConnectorFailed
from autonomos.errors import ConfigurationError, EngineUnavailable
from autonomos.store.attempts import backoff_s, classify, error_record


def _wrapped(cause: Exception) -> ConnectorFailed:
    try:
        try:
            raise cause
        except Exception as exc:
            raise ConnectorFailed("connector failed on stream orders", stream="orders") from exc
    except ConnectorFailed as outer:
        return outer


def test_a_stage_error_is_as_transient_as_its_cause():
    assert classify(_wrapped(RetryableHttpError("HTTP 503", status=503))) == "transient"
    assert classify(_wrapped(HttpStatusError("HTTP 403", status=403))) == "terminal"
    assert classify(ConfigurationError("no such setting")) == "terminal"


def test_lost_engines_are_outages():
    assert classify(EngineUnavailable("postgres is down")) == "outage"
    assert classify(_wrapped(redis.ConnectionError("connection refused"))) == "outage"
    assert classify(_wrapped(psycopg.OperationalError("server closed the connection"))) == "outage"


def test_the_error_record_is_structured_and_carries_the_cause_chain():
    record = error_record(_wrapped(RetryableHttpError("HTTP 503", status=503)))
    assert record["kind"] == "ConnectorFailed" and record["transient"] is True and record["outage"] is False
    assert record["causes"] == [{"kind": "RetryableHttpError", "message": "HTTP 503 (status=503)"}]


def test_backoff_grows_exponentially_up_to_a_cap():
    assert 1 <= backoff_s(1, 1) < backoff_s(3, 1) and 4 <= backoff_s(3, 1) <= 4.8
    assert backoff_s(50, 1, max_s=30) <= 36
