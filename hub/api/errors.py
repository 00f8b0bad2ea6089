"""The one place where the hub's errors become HTTP responses.

Every error body is ``{"error": {"code", "message", "element", "line", ...}}``; ``element``
and ``line`` are null where they do not apply. Server-side failures answer a generic message
(the details go to the log, not to the caller). Bodies echo what the caller sent, so they are
written so that any text can be (a lone surrogate is escaped, not a crash).
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from hub.errors import (
    AgencyBusyError,
    BrokerError,
    BusyError,
    ClientGoneError,
    ConflictError,
    DirectoryError,
    ForbiddenError,
    HubBusyError,
    HubError,
    InvalidRequestError,
    MalformedPacketError,
    NotFoundError,
    OversizePacketError,
    PayloadPurgedError,
    RequestTimeoutError,
    RequestTooLargeError,
    StorageError,
    UnauthorizedError,
    UnroutablePacketError,
)

__all__ = [
    "STATUS_BY_ERROR",
    "ErrorResponse",
    "error_body",
    "install_error_handlers",
    "status_for",
]

STATUS_BY_ERROR: tuple[tuple[type[HubError], int], ...] = (
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (PayloadPurgedError, 410),
    (NotFoundError, 404),
    (ConflictError, 409),
    (OversizePacketError, 413),
    (MalformedPacketError, 400),
    (UnroutablePacketError, 422),
    (RequestTimeoutError, 408),
    (RequestTooLargeError, 413),
    (ClientGoneError, 400),
    (InvalidRequestError, 422),
    (DirectoryError, 422),
    (AgencyBusyError, 429),
    (HubBusyError, 503),
    (StorageError, 503),
    (BrokerError, 503),
)
"""HTTP status of each kind of error, most specific first; anything else is a 500."""

_log = structlog.get_logger(__name__)


class ErrorResponse(JSONResponse):
    """A JSON answer that can carry any text: what cannot be written as UTF-8 (a lone
    surrogate the caller sent, echoed in a message) is written as its JSON escape."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


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
    if isinstance(exc, BusyError):
        _log.warning("api.busy", path=request.url.path, code=exc.code)
        headers["Retry-After"] = str(exc.retry_after)
    elif status >= 500:
        _log.error("api.failed", path=request.url.path, code=exc.code, error=exc.message)
        body = error_body(exc.code, "the hub cannot serve this request right now; try again later")
        headers["Retry-After"] = "30"
        return ErrorResponse(body, status_code=status, headers=headers)
    if status == 408:
        _log.info("api.body_timeout", path=request.url.path, error=exc.message)
        headers["Connection"] = "close"
    if status == 401:
        headers["WWW-Authenticate"] = (
            'Bearer realm="lienthong"'
            if exc.code == "auth.missing"
            else 'Bearer realm="lienthong", error="invalid_token"'
        )
    data = {"element": None, "line": None, **exc.as_dict()}
    return ErrorResponse({"error": data}, status_code=status, headers=headers)


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
    return ErrorResponse(
        error_body("request.invalid", message, issues=problems),
        status_code=422,
    )


_HTTP_CODES = {404: "http.not-found", 405: "http.method-not-allowed"}


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    # FastAPI turns an error raised while it reads a body into a 400 "error parsing the body":
    # the hub's own (a body that stopped arriving) and a client gone are answered as such.
    cause = exc.__cause__
    if isinstance(cause, HubError):
        return await _hub_error(request, cause)
    if isinstance(cause, ClientDisconnect):
        return _client_gone(request)
    code = _HTTP_CODES.get(exc.status_code, f"http.{exc.status_code}")
    return ErrorResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


def _client_gone(request: Request) -> JSONResponse:
    _log.info("api.client_disconnected", path=request.url.path)
    error = ClientGoneError("the client closed the connection before its request arrived")
    return ErrorResponse(error_body(error.code, error.message), status_code=400)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ClientDisconnect):
        return _client_gone(request)
    _log.exception("api.crashed", path=request.url.path, error_type=type(exc).__name__)
    return ErrorResponse(
        error_body("internal", "the hub failed to serve this request; it has been logged"),
        status_code=500,
    )
