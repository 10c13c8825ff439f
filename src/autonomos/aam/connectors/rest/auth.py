"""Authentication of REST requests: static secrets, and OAuth2 with cached, refreshed tokens.

Every scheme gives the headers and query parameters of a request. OAuth2 fetches an access
token from the token endpoint (client-credentials or refresh-token grant), caches it encrypted
in Redis under the connection's namespace until shortly before it expires, so every worker
reuses one token, and fetches a new one when it expires or the API answers 401. A refresh
token the vendor rotates is stored at once, encrypted, through the context's credentials saver
(one active run per connection, so the next run reads it from Postgres); a Redis lock keeps
two processes of one connection from spending the same rotating refresh token.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx

from autonomos.aam.connectors.context import ConnectorContext
from autonomos.aam.connectors.rest.clock import Clock
from autonomos.aam.connectors.rest.exceptions import AuthFailed
from autonomos.aam.connectors.rest.typing import AuthKind, GrantType
from autonomos.errors import ConfigurationError

EXPIRY_SKEW_S = 60.0
"""Tokens are treated as expired this long before the vendor says, so none dies mid-request."""

TokenPost = Callable[[str, dict[str, str]], httpx.Response]


class Auth:
    """No authentication; the base of the others."""

    refreshable = False

    def headers(self) -> dict[str, str]:
        return {}

    def params(self) -> dict[str, str]:
        return {}

    def refresh(self) -> None:
        """Get a new token after a 401 (only OAuth2 can)."""


class BearerAuth(Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class ApiKeyAuth(Auth):
    def __init__(self, name: str, value: str, where: str) -> None:
        if where not in ("header", "query"):
            raise ConfigurationError("auth.in must be `header` or `query`", value=where)
        self.name, self.value, self.where = name, value, where

    def headers(self) -> dict[str, str]:
        return {self.name: self.value} if self.where == "header" else {}

    def params(self) -> dict[str, str]:
        return {self.name: self.value} if self.where == "query" else {}


class BasicAuth(Auth):
    def __init__(self, username: str, password: str) -> None:
        self.value = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Basic {self.value}"}


class OAuth2Auth(Auth):
    """Access tokens from ``token_url``; ``info`` holds the last token response (e.g. Salesforce's
    ``instance_url``)."""

    refreshable = True

    def __init__(self, token_url: str, grant: GrantType, credentials: dict[str, Any], *, clock: Clock,
                 context: ConnectorContext | None, post: TokenPost | None = None, scope: str | None = None,
                 default_ttl_s: float = 3600.0) -> None:
        if grant not in ("client_credentials", "refresh_token"):
            raise ConfigurationError("auth.grant_type must be `client_credentials` or `refresh_token`", value=grant)
        needed = ("client_id", "client_secret") + (("refresh_token",) if grant == "refresh_token" else ())
        missing = [k for k in needed if not credentials.get(k)]
        if missing:
            raise ConfigurationError("OAuth2 credentials are incomplete", missing=",".join(missing))
        self.token_url, self.grant, self.credentials = token_url, grant, dict(credentials)
        self.clock, self.context, self.post, self.scope = clock, context, post, scope
        self.default_ttl_s = default_ttl_s
        self.info: dict[str, Any] = {}

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def access_token(self) -> str:
        if not self._valid(self.info):
            cached = self.context.cache_get("oauth_token") if self.context else None
            if cached and self._valid(cached):
                self.info = cached
            else:
                self._fetch(stale=None)
        return self.info["access_token"]

    def refresh(self) -> None:
        self._fetch(stale=self.info.get("access_token"))

    def _valid(self, info: dict[str, Any]) -> bool:
        return bool(info.get("access_token")) and float(info.get("expires_at", 0)) > self.clock.now()

    def _fetch(self, stale: str | None) -> None:
        if self.context is None:
            self._request_token()
            return
        with self.context.redis.lock(self.context.key("lock", "oauth"), timeout=60, blocking_timeout=60):
            cached = self.context.cache_get("oauth_token")
            if cached and self._valid(cached) and cached["access_token"] != stale:
                self.info = cached  # another worker refreshed while we waited
                return
            self._request_token()

    def _request_token(self) -> None:
        if self.post is None:
            raise ConfigurationError("OAuth2 needs a client to reach the token endpoint")
        form = {"grant_type": self.grant, "client_id": self.credentials["client_id"],
                "client_secret": self.credentials["client_secret"]}
        if self.grant == "refresh_token":
            form["refresh_token"] = self.credentials["refresh_token"]
        if self.scope:
            form["scope"] = self.scope
        response = self.post(self.token_url, form)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error") if isinstance(body, dict) else None
            raise AuthFailed("the token endpoint refused the credentials", status=response.status_code,
                             error=error or response.text[:200])
        ttl = float(body.get("expires_in") or self.default_ttl_s)
        self.info = {**{k: v for k, v in body.items() if k != "refresh_token"},
                     "expires_at": self.clock.now() + max(1.0, ttl - EXPIRY_SKEW_S)}
        rotated = body.get("refresh_token")
        if self.context is not None:
            self.context.cache_set("oauth_token", self.info, max(1.0, ttl - EXPIRY_SKEW_S))
        if rotated and rotated != self.credentials.get("refresh_token"):
            self.credentials["refresh_token"] = rotated
            if self.context is not None:
                self.context.save_credentials(dict(self.credentials))


def build_auth(config: dict[str, Any], credentials: dict[str, Any], *, clock: Clock,
               context: ConnectorContext | None, post: TokenPost | None) -> Auth:
    """The scheme named by ``config["type"]``; secrets are read from ``credentials`` only."""
    kind: AuthKind = config.get("type", "none")

    def secret(name: str) -> str:
        if not credentials.get(name):
            raise ConfigurationError(f"credentials need `{name}` for {kind} auth", auth=kind)
        return str(credentials[name])

    if kind == "none":
        return Auth()
    if kind == "bearer":
        return BearerAuth(str(credentials.get("access_token") or secret("token")))
    if kind == "api_key":
        return ApiKeyAuth(config.get("name", "X-API-Key"), secret("api_key"), config.get("in", "header"))
    if kind == "basic":
        return BasicAuth(secret("username"), secret("password"))
    if kind == "oauth2":
        if not config.get("token_url"):
            raise ConfigurationError("oauth2 auth needs `token_url`")
        return OAuth2Auth(config["token_url"], config.get("grant_type", "refresh_token"), credentials,
                          clock=clock, context=context, post=post, scope=config.get("scope"),
                          default_ttl_s=float(config.get("token_ttl_seconds", 3600)))
    raise ConfigurationError("unknown auth type", auth=kind)
