"""One HTTP request, done right: rate limit, auth, retries, errors translated.

``RestClient.request`` is the only place the REST connectors touch httpx. Per attempt it takes
a token from the connection's shared bucket, sends the request with the auth headers and
parameters, and on 401 refreshes an OAuth2 token once and resends. 429, 5xx, 408 and
timeouts are retried (tenacity) with exponential backoff and jitter, or after the
``Retry-After`` the server sent; other 4xx raise ``HttpStatusError`` at once, since asking again
cannot fix them. Every wait goes through the injected clock.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from autonomos.aam.connectors.rest.auth import Auth
from autonomos.aam.connectors.rest.clock import Clock
from autonomos.aam.connectors.rest.exceptions import HttpStatusError, RestError, RetryableHttpError, TransportFailed
from autonomos.aam.connectors.rest.ratelimit import TokenBucket
from autonomos.aam.connectors.rest.typing import RETRYABLE_STATUS


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_s: float = 1.0
    max_s: float = 60.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RetryPolicy:
        return cls(attempts=max(1, int(config.get("attempts", 5))), base_s=float(config.get("base_seconds", 1.0)),
                   max_s=float(config.get("max_seconds", 60.0)))


class RestClient:
    """An httpx client bound to one connection's base URL, auth, bucket, retry policy and clock."""

    def __init__(self, base_url: str, *, clock: Clock, auth: Auth | None = None, bucket: TokenBucket | None = None,
                 policy: RetryPolicy = RetryPolicy(), timeout_s: float = 30.0,
                 headers: dict[str, str] | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers or {}, transport=transport,
                                 follow_redirects=True)
        self.clock, self.auth, self.bucket, self.policy = clock, auth or Auth(), bucket, policy
        self._backoff = wait_exponential_jitter(initial=policy.base_s, max=policy.max_s, jitter=policy.base_s)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, url: str, *, params: dict[str, Any] | None = None, json: Any = None,
                data: dict[str, str] | None = None, authenticated: bool = True) -> httpx.Response:
        """The successful response, after retries; raises a ``RestError`` otherwise."""
        retrying = Retrying(stop=stop_after_attempt(self.policy.attempts), wait=self._wait,
                            retry=retry_if_exception(lambda e: isinstance(e, RestError) and e.transient),
                            sleep=self.clock.sleep, reraise=True)
        return retrying(self._attempt, method, url, params, json, data, authenticated)

    def post_form(self, url: str, form: dict[str, str]) -> httpx.Response:
        """A token-endpoint call: retried like any other, answered even on 4xx (the caller judges)."""
        try:
            return self.request("POST", url, data=form, authenticated=False)
        except HttpStatusError as error:
            return httpx.Response(error.status, text=error.body)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableHttpError) and error.retry_after is not None:
            return max(0.0, error.retry_after)
        return self._backoff(state)

    def _attempt(self, method: str, url: str, params: dict[str, Any] | None, json: Any,
                 data: dict[str, str] | None, authenticated: bool) -> httpx.Response:
        response = self._send(method, url, params, json, data, authenticated)
        if response.status_code == 401 and authenticated and self.auth.refreshable:
            self.auth.refresh()
            response = self._send(method, url, params, json, data, authenticated)
        status = response.status_code
        if status < 400:
            return response
        context = {"method": method, "url": str(response.request.url.copy_with(query=None))}
        if status in RETRYABLE_STATUS:
            raise RetryableHttpError(f"HTTP {status}", status=status, body=response.text[:2000],
                                     retry_after=self._retry_after(response), **context)
        raise HttpStatusError(f"HTTP {status}: {response.text[:300]}", status=status, body=response.text[:2000],
                              **context)

    def _send(self, method: str, url: str, params: dict[str, Any] | None, json: Any,
              data: dict[str, str] | None, authenticated: bool) -> httpx.Response:
        if self.bucket is not None:
            self.bucket.acquire()
        merged = {**(params or {}), **(self.auth.params() if authenticated else {})}
        headers = self.auth.headers() if authenticated else {}
        try:
            return self.http.request(method, url, params=merged or None, json=json, data=data, headers=headers)
        except httpx.TimeoutException as error:
            raise TransportFailed(f"request timed out: {type(error).__name__}", method=method, url=url) from error
        except httpx.TransportError as error:
            raise TransportFailed(f"request failed: {error}", method=method, url=url) from error

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            try:
                return email.utils.parsedate_to_datetime(value).timestamp() - self.clock.now()
            except (TypeError, ValueError):
                return None
