"""The one place where the hub's errors become HTTP responses.

Every error body is ``{"error": {"code", "message", "element", "line", ...}}``; ``element``
and ``line`` are null where they do not apply. Server-side failures answer a generic message
(the details go to the log, not to the caller).
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hub.errors import (
    BrokerError,
    ConflictError,
    DirectoryError,
    ForbiddenError,
    HubError,
    InvalidRequestError,
    MalformedPacketError,
    NotFoundError,
    OversizePacketError,
    PayloadPurgedError,
    StorageError,
    UnauthorizedError,
    UnroutablePacketError,
)

__all__ = ["STATUS_BY_ERROR", "error_body", "install_error_handlers", "status_for"]

STATUS_BY_ERROR: tuple[tuple[type[HubError], int], ...] = (
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (PayloadPurgedError, 410),
    (NotFoundError, 404),
    (ConflictError, 409),
    (OversizePacketError, 413),
    (MalformedPacketError, 400),
    (UnroutablePacketError, 422),
    (InvalidRequestError, 422),
    (DirectoryError, 422),
    (StorageError, 503),
    (BrokerError, 503),
)
"""HTTP status of each kind of error, most specific first; anything else is a 500."""

_log = structlog.get_logger(__name__)


def status_for(error: HubError) -> int:
    """The HTTP status that answers ``error``."""
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 500


def error_body(
    code: str,
    message: str,
    *,
    element: str | None = None,
    line: int | None = None,
    **extra: object,
) -> dict[str, object]:
    """The JSON body of an error response."""
    return {"error": {"code": code, "message": message, "element": element, "line": line, **extra}}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with the hub's error body."""
    app.add_exception_handler(HubError, _hub_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)


async def _hub_error(request: Request, exc: HubError) -> JSONResponse:
    status = status_for(exc)
    headers: dict[str, str] = {}
    if status >= 500:
        _log.error("api.failed", path=request.url.path, code=exc.code, error=exc.message)
        body = error_body(exc.code, "the hub cannot serve this request right now; try again later")
        headers["Retry-After"] = "30"
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401:
        headers["WWW-Authenticate"] = (
            'Bearer realm="lienthong"'
            if exc.code == "auth.missing"
            else 'Bearer realm="lienthong", error="invalid_token"'
        )
    data = {"element": None, "line": None, **exc.as_dict()}
    return JSONResponse({"error": data}, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        {
            "location": ".".join(str(part) for part in problem.get("loc", ())),
            "message": str(problem.get("msg", "")),
        }
        for problem in exc.errors()
    ]
    message = (
        f"{problems[0]['location']}: {problems[0]['message']}" if problems else "invalid request"
    )
    return JSONResponse(
        error_body("request.invalid", message, issues=problems),
        status_code=422,
    )


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    code = {404: "http.not-found", 405: "http.method-not-allowed"}.get(
        exc.status_code, f"http.{exc.status_code}"
    )
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("api.crashed", path=request.url.path, error_type=type(exc).__name__)
    return JSONResponse(
        error_body("internal", "the hub failed to serve this request; it has been logged"),
        status_code=500,
    )
