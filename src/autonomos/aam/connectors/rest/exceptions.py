"""Errors of the REST connectors.

    AutonomosError
    └── RestError                  base; carries provider, stream, URL in ``context``
        ├── HttpStatusError        the API answered with an error status (``status``)
        │   └── RetryableHttpError 429, 5xx, 408: retried with backoff, ``retry_after`` if sent
        ├── TransportFailed        timeout or connection error (transient, retried)
        └── AuthFailed             the token endpoint refused, or a refreshed token is refused too
"""

from __future__ import annotations

from typing import Any

from autonomos.errors import AutonomosError


class RestError(AutonomosError):
    """Base of the REST connector errors."""


class HttpStatusError(RestError):
    """Raised for an error status that retrying cannot fix (4xx other than 408/425/429)."""

    def __init__(self, message: str, *, status: int, body: str = "", **context: Any) -> None:
        super().__init__(message, status=status, **context)
        self.status = status
        self.body = body


class RetryableHttpError(HttpStatusError):
    """Raised for 429/5xx; ``retry_after`` is the wait in seconds the server asked for, if any."""

    transient = True

    def __init__(self, message: str, *, status: int, retry_after: float | None = None, body: str = "",
                 **context: Any) -> None:
        super().__init__(message, status=status, body=body, **context)
        self.retry_after = retry_after


class TransportFailed(RestError):
    """Raised when a request timed out or the connection failed; retried."""

    transient = True


class AuthFailed(RestError):
    """Raised when no valid access token can be had (bad credentials, revoked refresh token)."""
