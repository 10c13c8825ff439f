"""The console application, mounted by the API under ``/console``.

Server-rendered pages over the service layer (the same functions the API and CLI call), with
a little vendored JavaScript for the keyboard and live refresh. Every page needs a session
(``session``); errors become pages: a missing or foreign object is a 404 exactly alike, a
refused action a 403, and a decision the service layer refuses comes back as a message on
the page it was made from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from autonomos.console import session
from autonomos.console.errors import ConsoleForbidden, SignInRequired
from autonomos.errors import AutonomosError, NotFound
from autonomos.runtime import Runtime

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
NAV = [("connections", "Connections"), ("review", "Review queue"), ("mappings", "Mapping versions"),
       ("drift", "Drift"), ("records", "Records"), ("lineage", "Lineage"), ("quarantine", "Quarantine")]


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A page with the signed-in session (if any), its form token, navigation and flash message."""
    who = getattr(request.state, "console_session", None)
    flash = session.take_flash(request)
    page = templates.TemplateResponse(request, name, {
        "who": who, "csrf": who.csrf_token if who else "", "nav": NAV, "flash": flash,
        "may_review": bool(who and who.principal.may("reviewer")), "may_admin": bool(who and who.principal.may("admin")),
        **context}, status_code=status_code)
    if flash is not None:
        session.clear_cookie(page, session.FLASH_COOKIE)
    return page


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "message": message}, status_code=status)


def create_console(rt: Runtime) -> FastAPI:
    """The console over ``rt`` (the API mounts it at ``/console``)."""
    from autonomos.console.pages import ROUTERS

    app = FastAPI(title="AutonomOS console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.rt = rt
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        response = RedirectResponse(f"{session.PATH}/login", status_code=303)
        session.clear_cookie(response, session.COOKIE)
        return response

    @app.exception_handler(ConsoleForbidden)
    async def forbidden(request: Request, exc: ConsoleForbidden) -> Response:
        return _error_page(request, 403, "Not allowed", exc.message)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error_page(request, 404, "Not found", "There is no such object in your tenant.")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.method == "POST":
            return _refused(request, "the form is incomplete or malformed")
        return _error_page(request, 404, "Not found", "There is no such object in your tenant.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_page(request, exc.status_code, "Not found" if exc.status_code == 404 else "Error",
                           "There is no such page." if exc.status_code == 404 else str(exc.detail))

    @app.exception_handler(AutonomosError)
    async def refused(request: Request, exc: AutonomosError) -> Response:
        if request.method == "POST":
            return _refused(request, exc.message)
        return _error_page(request, 409 if not exc.transient else 503, "Could not do that", exc.message)

    return app


def _refused(request: Request, message: str) -> Response:
    """Back to the page the form was on, saying why nothing happened."""
    referer = urlsplit(request.headers.get("referer", ""))
    target = referer.path + (f"?{referer.query}" if referer.query else "") if referer.path else session.PATH + "/"
    return session.back(target, message, kind="error")
