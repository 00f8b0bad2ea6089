"""The VXP endpoint over HTTP: ``POST /vxp/<operation>``, as the national axis serves it.

An agency system built on the official SDK points its endpoint URL at ``<hub>/vxp`` and keeps
everything else. Every answer is JSON the SDK can read (:mod:`hub.vxp.answers`), FAIL ones
included, whatever the HTTP status: errors never leave here as the agency API's error body.
The caller is authenticated from the headers before a ``sendEdoc`` body is read, and the body
is then read as the agency API reads it: within the packet size limit and the time limits,
under the same caps on uploads at once (:mod:`hub.api.uploads`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api.context import ApiContext, ContextDep
from hub.api.errors import ErrorResponse
from hub.api.uploads import packet_body, read_body
from hub.errors import BusyError, HubError
from hub.vxp.answers import Answer, DocAnswer, refusal
from hub.vxp.service import VxpCaller, VxpService
from hub.vxp.wire import Operation

__all__ = ["PATH_PREFIX", "router"]

PATH_PREFIX = "/vxp"
"""Where the operations are served: the SDK's endpoint URL is ``<hub base URL>/vxp``."""

router = APIRouter(prefix=PATH_PREFIX, tags=["vxp"])

_SMALL_BODY = 64 * 1024
"""Largest body of the calls that carry none worth reading (``{}``, or nothing)."""
_log = structlog.get_logger(__name__)
_DESCRIPTION = (
    "The national axis's protocol (VXP) for agency systems built on its official SDK: "
    "parameters as signed `XroadVnpt-*` headers, answers `{status, ErrorCode, ErrorDesc, …}` "
    "(see docs/vxp-sdk.md)."
)


def _answer(operation: Operation, context: ApiContext, answer: Answer) -> JSONResponse:
    context.metrics.vxp_calls.labels(operation=operation.value, error_code="0").inc()
    return ErrorResponse(answer.wire())


def _crashed(operation: Operation, context: ApiContext, error: Exception) -> JSONResponse:
    _log.exception("vxp.crashed", operation=operation.value, error_type=type(error).__name__)
    return _refused(operation, context, HubError("the hub failed to serve this call"))


def _refused(operation: Operation, context: ApiContext, error: HubError) -> JSONResponse:
    code, status = refusal(error)
    context.metrics.vxp_calls.labels(operation=operation.value, error_code=code.value).inc()
    retry_after = 30
    if isinstance(error, BusyError):
        _log.warning("vxp.busy", operation=operation.value, code=error.code)
        desc = f"[{error.code}] {error.message}"
        retry_after = error.retry_after
    elif status >= 500:
        _log.error("vxp.failed", operation=operation.value, code=error.code, error=error.message)
        desc = "the hub cannot serve this call right now; try again later"
    else:
        _log.info("vxp.refused", operation=operation.value, code=error.code)
        desc = f"[{error.code}] {error.message}"
    fields: dict[str, Any] = {"status": "FAIL", "error_code": code.value, "error_desc": desc}
    answer = DocAnswer(**fields) if operation is Operation.SEND_EDOC else Answer(**fields)
    headers = {"Retry-After": str(retry_after)} if status >= 429 else {}
    if status == 408:
        headers["Connection"] = "close"
    return ErrorResponse(answer.wire(), status_code=status, headers=headers)


@router.post(
    "/sendEdoc",
    summary="VXP sendEdoc: post a packet (body: the .edxml bytes, then CRLF)",
    description=_DESCRIPTION,
    response_model=DocAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def send_edoc(request: Request, context: ContextDep) -> JSONResponse:
    """Ingest the packet; ``DocId`` is its packet id (the same for the same bytes again)."""
    service = context.vxp
    metrics = context.metrics
    try:
        caller = await run_in_threadpool(service.authenticate, request.headers.raw)
    except HubError as exc:
        return _refused(Operation.SEND_EDOC, context, exc)
    except Exception as exc:
        return _crashed(Operation.SEND_EDOC, context, exc)
    started = time.perf_counter()
    try:
        with context.uploads.admit(caller.agency.code):
            async with packet_body(request, service.max_body) as body:
                result = await run_in_threadpool(service.send_edoc, caller, body)
    except HubError as exc:
        metrics.ingest_rejections.labels(code=exc.code).inc()
        return _refused(Operation.SEND_EDOC, context, exc)
    except Exception as exc:
        return _crashed(Operation.SEND_EDOC, context, exc)
    finally:
        metrics.ingest_latency.observe(time.perf_counter() - started)
    if result.created:
        metrics.packets_accepted.labels(kind=result.kind).inc()
    return _answer(Operation.SEND_EDOC, context, DocAnswer(doc_id=result.packet_id))


def _operation(
    operation: Operation, serve: Callable[[VxpService, VxpCaller], Answer], summary: str
) -> None:
    """Route one of the operations that carry no packet: authenticate, then serve."""

    def handle(service: VxpService, headers: list[tuple[bytes, bytes]]) -> Answer:
        return serve(service, service.authenticate(headers))

    async def endpoint(request: Request, context: ContextDep) -> JSONResponse:
        try:
            await read_body(request, _SMALL_BODY)
            answer = await run_in_threadpool(handle, context.vxp, request.headers.raw)
        except HubError as exc:
            return _refused(operation, context, exc)
        except Exception as exc:
            return _crashed(operation, context, exc)
        return _answer(operation, context, answer)

    endpoint.__name__ = operation.value
    endpoint.__doc__ = summary
    route: Callable[..., Awaitable[JSONResponse]] = endpoint
    router.post(
        f"/{operation.value}",
        summary=f"VXP {operation.value}: {summary}",
        description=_DESCRIPTION,
        response_model=None,
    )(route)


_operation(
    Operation.GET_RECEIVED_EDOC_LIST,
    VxpService.received,
    "the deliveries waiting for the system's agency (docId = delivery id)",
)
_operation(Operation.GET_EDOC, VxpService.edoc, "one delivery's packet, base64, as posted")
_operation(
    Operation.UPDATE_STATUS,
    VxpService.update_status,
    "acknowledge a delivery: done (delivered), fail (refused), processing",
)
_operation(
    Operation.GET_SENT_EDOC_LIST,
    VxpService.sent,
    "each receiver of what the system's agency sent, with its state",
)
_operation(Operation.GET_AGENCIES_LIST, VxpService.agencies, "the hub's directory, parents as pid")
