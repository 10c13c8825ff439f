"""The console's session cookie, CSRF check, roles and one-shot messages.

The cookie holds only a random token (``services.console_sessions``): ``Secure``, ``HttpOnly``,
``SameSite=Strict``, path ``/console``. Every POST form carries the session's CSRF token,
compared in constant time, and a cross-origin ``Origin`` is refused outright. The sign-in
form, which has no session yet, uses a double-submit token of its own. A flash message is a
short-lived cookie read once by the next page (it only ever shows text, escaped).
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from autonomos.console.errors import ConsoleForbidden, SignInRequired
from autonomos.runtime import Runtime
from autonomos.services import console_sessions
from autonomos.services.apikeys import Role
from autonomos.services.console_sessions import SessionInfo

COOKIE = "aos_console"
LOGIN_COOKIE = "aos_console_login"
FLASH_COOKIE = "aos_console_flash"
PATH = "/console"


def runtime(request: Request) -> Runtime:
    return request.app.state.rt


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PATH, secure=True, httponly=True, samesite="strict")


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path=PATH, secure=True, httponly=True, samesite="strict")


async def viewer(request: Request) -> SessionInfo:
    """The signed-in session of this request; a page without one sends the browser to sign in."""
    token = request.cookies.get(COOKIE, "")
    found = await run_in_threadpool(console_sessions.find, runtime(request), token) if token else None
    if found is None:
        raise SignInRequired()
    request.state.console_session = found
    return found


Viewer = Annotated[SessionInfo, Depends(viewer)]


def same_origin(request: Request) -> bool:
    """A browser's ``Origin`` (or ``Referer``) must name this server; none at all is allowed
    (the CSRF token still has to match)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin != "null"
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def form_session(request: Request, who: Viewer, csrf: Annotated[str, Form()] = "") -> SessionInfo:
    """The session of a POST whose form token matches it (and whose origin is this server)."""
    if not same_origin(request) or not csrf or not hmac.compare_digest(csrf, who.csrf_token):
        raise ConsoleForbidden("the form expired or did not come from this console; reload the page and try again")
    return who


Poster = Annotated[SessionInfo, Depends(form_session)]


def need(who: SessionInfo, role: Role) -> None:
    if not who.principal.may(role):
        raise ConsoleForbidden(f"this action needs the {role} role; your key is a {who.principal.role} key")


def login_token() -> str:
    return secrets.token_urlsafe(24)


def flash(response: Response, message: str, *, kind: str = "ok", undo: str | None = None) -> None:
    """A message for the next page (and, for a review decision, what undo would reopen)."""
    data = json.dumps({"m": message[:500], "k": kind, "u": undo}).encode()
    set_cookie(response, FLASH_COOKIE, base64.urlsafe_b64encode(data).decode(), max_age=60)


def take_flash(request: Request) -> dict | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return {"message": str(data["m"]), "kind": "error" if data.get("k") == "error" else "ok",
                "undo": str(data["u"]) if data.get("u") else None}
    except (ValueError, KeyError, TypeError):
        return None


def back(url: str, message: str, *, kind: str = "ok", undo: str | None = None) -> RedirectResponse:
    """Post/redirect/get: a 303 to ``url`` (always a console path) carrying a flash message."""
    if not url.startswith(PATH + "/") and url != PATH:
        url = PATH + "/"
    response = RedirectResponse(url, status_code=303)
    flash(response, message, kind=kind, undo=undo)
    return response
