"""Vocabulary of the REST connectors."""

from __future__ import annotations

from typing import Literal

AuthKind = Literal["none", "bearer", "api_key", "basic", "oauth2"]
"""How requests are authenticated; secrets come from the connection's credentials."""

GrantType = Literal["client_credentials", "refresh_token"]
"""OAuth2 grants that run without a person: a service account, or a stored refresh token."""

PaginationStyle = Literal["none", "page", "offset", "cursor", "next_url", "link_header"]
"""``page``/``offset`` count, ``cursor`` sends a token from the body, ``next_url`` follows a URL
in the body, ``link_header`` follows ``Link: <...>; rel="next"``."""

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
"""Statuses worth retrying: throttling, timeouts and server errors; other 4xx are final."""
