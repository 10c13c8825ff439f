"""Sign in with an API key (the key is verified once and never kept), sign out."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from autonomos.console import session
from autonomos.console.app import render
from autonomos.console.errors import ConsoleForbidden
from autonomos.services import console_sessions

router = APIRouter()


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse(f"{session.PATH}/connections", status_code=303)


@router.get("/login", include_in_schema=False)
def login_page(request: Request) -> Response:
    token = session.login_token()
    page = render(request, "login.html", {"login_token": token, "error": None})
    session.set_cookie(page, session.LOGIN_COOKIE, token, max_age=900)
    return page


@router.post("/login", include_in_schema=False)
async def login(request: Request, key: Annotated[str, Form(max_length=256)] = "",
                login_token: Annotated[str, Form(max_length=64)] = "") -> Response:
    expected = request.cookies.get(session.LOGIN_COOKIE, "")
    if not session.same_origin(request) or not expected or not hmac.compare_digest(expected, login_token):
        raise ConsoleForbidden("the sign-in form expired; reload the page and try again")
    signed = await run_in_threadpool(console_sessions.sign_in, request.app.state.rt, key) if key.strip() else None
    if signed is None:
        token = session.login_token()
        page = render(request, "login.html", {"login_token": token,
                                              "error": "That key is unknown, revoked, or not a tenant key."},
                      status_code=401)
        session.set_cookie(page, session.LOGIN_COOKIE, token, max_age=900)
        return page
    cookie, info = signed
    response = session.back(f"{session.PATH}/connections", f"Signed in as a {info.principal.role}.")
    session.set_cookie(response, session.COOKIE, cookie, max_age=int(console_sessions.SESSION_TTL.total_seconds()))
    session.clear_cookie(response, session.LOGIN_COOKIE)
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, who: session.Poster) -> Response:
    await run_in_threadpool(console_sessions.sign_out, request.app.state.rt, who)
    response = RedirectResponse(f"{session.PATH}/login", status_code=303)
    session.clear_cookie(response, session.COOKIE)
    return response
