"""The console as an ASGI app of its own, mounted on the hub's API app under ``/console``.

Its own app so its pages keep out of the API's OpenAPI document and its errors are HTML
pages, not the API's JSON bodies. Every answer carries a strict Content-Security-Policy (no
script at all: the pages need none) and is never cached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.api.errors import status_for
from hub.api.params import plain_form, plain_parameters
from hub.console import accounts as access
from hub.console import documents, history, operations, pages
from hub.console.auth import SessionPolicy
from hub.console.service import ConsoleDatabase, ConsoleStats
from hub.console.web import ConsoleContext, ConsoleError, NotSignedInError, render, safe_next
from hub.errors import HubError
from hub.payloads import BlobStore
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["create_console"]

_log = structlog.get_logger(__name__)

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_console(settings: Settings, database: Database, blobs: BlobStore) -> FastAPI:
    """The console app serving ``database`` and ``blobs`` (mount it at ``/console``)."""
    app = FastAPI(title="lienthong console", docs_url=None, redoc_url=None, openapi_url=None)
    db = ConsoleDatabase(database)
    app.state.console = ConsoleContext(
        settings=settings,
        db=db,
        stats=ConsoleStats(db, settings),
        blobs=blobs,
        templates=Environment(
            loader=PackageLoader("hub.console", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        ),
        policy=SessionPolicy.from_settings(settings),
    )
    app.mount("/static", StaticFiles(packages=[("hub.console", "static")]), name="static")
    # Whatever a visitor types reaches the database only as text it can hold.
    plain = [Depends(plain_parameters), Depends(plain_form)]
    app.include_router(access.router, dependencies=plain)
    app.include_router(pages.router, dependencies=plain)
    app.include_router(history.router, dependencies=plain)
    app.include_router(documents.router, dependencies=plain)
    app.include_router(operations.router, dependencies=plain)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith(f"{request.scope.get('root_path', '')}/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_exception_handler(NotSignedInError, _not_signed_in)  # type: ignore[arg-type]
    app.add_exception_handler(ConsoleError, _console_error)  # type: ignore[arg-type]
    app.add_exception_handler(HubError, _hub_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    return app


def _page(request: Request, status: int, key: str, detail: str = "", **values: object) -> Response:
    context = request.app.state.console
    return render(
        request,
        context,
        "error.html",
        {"status": status, "key": key, "detail": detail, "values": values},
        status=status,
    )


async def _not_signed_in(request: Request, exc: NotSignedInError) -> Response:
    base = str(request.scope.get("root_path", "")).rstrip("/")
    if request.method in ("GET", "HEAD"):
        target = safe_next(
            request.url.path + (("?" + request.url.query) if request.url.query else ""), base
        )
        query = {"next": target, **({"expired": "1"} if exc.expired else {})}
        return RedirectResponse(f"{base}/login?{urlencode(query)}", status_code=303)
    return _page(request, 401, "error.expired" if exc.expired else "error.signed_out")


async def _console_error(request: Request, exc: ConsoleError) -> Response:
    _log.info("console.refused", path=request.url.path, status=exc.status, reason=exc.key)
    return _page(request, exc.status, exc.key, **exc.values)


async def _hub_error(request: Request, exc: HubError) -> Response:
    status = status_for(exc)
    if status >= 500:
        # The message of a storage or broker failure names drivers, hosts and databases: it
        # goes to the log, and the visitor reads that the hub cannot serve for now.
        _log.error("console.failed", path=request.url.path, code=exc.code, error=exc.message)
        return _page(request, status, "error.unavailable")
    return _page(request, status, "error.hub", exc.message)


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    detail = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'][1:]) or 'value'}: {error['msg']}"
        for error in exc.errors()
    )
    return _page(request, 400, "error.invalid", detail)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if isinstance(exc.__cause__, HubError):  # raised while the framework read a form
        return await _hub_error(request, exc.__cause__)
    if exc.status_code == 404:
        return _page(request, 404, "error.not_found")
    return HTMLResponse(str(exc.detail), status_code=exc.status_code)
