"""The pagination styles of the declarative REST connector.

A page token is a small JSON dict (``{"page": 3}``, ``{"offset": 200}``, ``{"cursor": "abc"}``,
``{"url": "..."}``) so it can be checkpointed in the stream state and a resumed read continues
from the page it had reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

import httpx

from autonomos.aam.connectors.rest.typing import PaginationStyle
from autonomos.errors import ConfigurationError

STYLES = get_args(PaginationStyle)


def dig(body: Any, path: str) -> Any:
    """The value at a dotted ``path`` in a JSON body (``""`` is the body itself); None if absent."""
    for part in [p for p in path.split(".") if p]:
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


@dataclass(frozen=True)
class Pagination:
    style: PaginationStyle = "none"
    param: str = ""
    """Query parameter carrying the page number, offset or cursor token."""
    size_param: str | None = None
    size: int | None = None
    start: int = 1
    """First page number (``page``)."""
    token_path: str = ""
    """Where the body holds the next cursor token or next URL (``paging.next.after``)."""

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Pagination:
        style = config.get("style", "none")
        if style not in STYLES:
            raise ConfigurationError("unknown pagination style", style=style)
        default_param = {"page": "page", "offset": "offset", "cursor": "cursor"}.get(style, "")
        size = config.get("page_size")
        if style in ("page", "offset") and not size:
            raise ConfigurationError(f"{style} pagination needs page_size")
        if style in ("cursor", "next_url") and not config.get("token_path"):
            raise ConfigurationError(f"{style} pagination needs token_path")
        return cls(style=style, param=config.get("param", default_param), size_param=config.get("size_param"),
                   size=int(size) if size else None, start=int(config.get("start", 1)),
                   token_path=config.get("token_path", ""))

    def request(self, token: dict[str, Any] | None) -> tuple[str | None, dict[str, Any]]:
        """URL to fetch instead of the stream's path (next URLs), and the paging parameters."""
        if token and "url" in token:
            return token["url"], {}
        params: dict[str, Any] = {}
        if self.size_param and self.size:
            params[self.size_param] = self.size
        if self.style == "page":
            params[self.param] = (token or {}).get("page", self.start)
        elif self.style == "offset":
            params[self.param] = (token or {}).get("offset", 0)
        elif self.style == "cursor" and token:
            params[self.param] = token["cursor"]
        return None, params

    def next(self, token: dict[str, Any] | None, response: httpx.Response, body: Any, count: int) -> dict[str, Any] | None:
        """The token of the page after this one; None on the last page."""
        if self.style == "page":
            return {"page": (token or {}).get("page", self.start) + 1} if count and count >= (self.size or 1) else None
        if self.style == "offset":
            return {"offset": (token or {}).get("offset", 0) + count} if count and count >= (self.size or 1) else None
        if self.style == "cursor":
            value = dig(body, self.token_path)
            return {"cursor": value} if value not in (None, "") else None
        if self.style == "next_url":
            value = dig(body, self.token_path)
            return {"url": str(response.request.url.join(value))} if value else None
        if self.style == "link_header":
            url = response.links.get("next", {}).get("url")
            return {"url": str(response.request.url.join(url))} if url else None
        return None

    def skip(self, token: dict[str, Any] | None) -> dict[str, Any] | None:
        """The token after a page that could not be parsed; only counted styles can skip one."""
        if self.style == "page":
            return {"page": (token or {}).get("page", self.start) + 1}
        if self.style == "offset" and self.size:
            return {"offset": (token or {}).get("offset", 0) + self.size}
        return None
