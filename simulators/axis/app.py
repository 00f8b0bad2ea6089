"""A simulated national axis node that the official SDK can be tested against (AXIS-SDK.md).

It accepts every request the SDK makes and checks what a real node would: the HMAC over the
``sign-header`` text exactly as received, then each header it names against the request (a
name may carry two values when both ``docId`` and ``docid`` were signed); ``hash-file`` in the
SDK's unpadded hex or the usual 64 characters, of the body or — when that is what the hash
says — of the body without the SDK's trailing ``\\r\\n`` (the packet is kept without it); a
readable edXML packet; known recipients. The signed timestamp is only checked with
``max_clock_skew`` (the SDK never refreshes it). When both doc id spellings are signed with
different values, ``getEdoc`` takes ``docId`` and ``updateStatus`` takes ``docid`` (the known
integrator that mixes them uses them so; the other one is a leftover of the SDK's header map).
It routes each packet to the systems serving its recipients (the ``to`` parameter, else the
packet's ``To`` or, for a status, its ``ResponseFor/OrganId``) and keeps per-system queues in
memory. Answers are written for the SDK to read (:mod:`simulators.axis.answers`). Refusals
are FAIL answers with an :class:`ErrorCode` and a readable ``ErrorDesc`` (and ``DocId: ""``
for ``sendEdoc``), under a meaningful HTTP status (401 signature, 403 sender, 400 request or
packet, 404 unknown docId) — or all under 200 with ``refusals_as_200``, as some gateways do.
``getReceivedEdocList`` lists ``pending`` and ``processing`` packets (both kinds when no
``messagetype`` is given); ``done`` and ``fail`` remove a packet from the list, and it stays
visible to operators with its state.

Operator and test endpoints live under ``/_sim`` (no authentication: bind the simulator to
localhost):

- ``GET /_sim/health`` — liveness;
- ``GET``/``POST``/``DELETE /_sim/faults`` — read, set (:class:`Faults`), clear the faults;
- ``POST /_sim/reset`` — forget every packet and fault;
- ``GET /_sim/systems`` — the connected systems and their agencies (never the secrets);
- ``POST /_sim/systems/{id}/inject`` — queue the body for a system as if a ministry had sent
  it (query ``messagetype``, ``from``, ``to``); nothing is checked, so unreadable packets can
  be injected too;
- ``GET /_sim/systems/{id}/received`` — a system's queue in every state (query
  ``messagetype``); ``…/received/{docId}`` — the bytes queued;
- ``GET /_sim/systems/{id}/sent`` — what a system sent, with each receiver's state.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

import edxml
from adapters.axis.protocol import (
    ErrorCode,
    Operation,
    Param,
    ProtocolOptions,
    hash_file_matches,
    hmac_hex,
    parse_timestamp,
    read_recipients_header,
)
from hub.axis.models import AckStatus, MessageType
from simulators.axis.answers import (
    agency_item,
    fail_answer,
    ok_answer,
    received_items,
    sent_items,
)
from simulators.axis.faults import Faults, FaultState
from simulators.axis.store import AxisStore, QueueEntry, QueueState
from simulators.axis.systems import SimSystem, Systems

__all__ = ["DOC_ID_SPELLINGS", "AxisSimulator", "EntryView", "SentView"]

_ACK_STATES: dict[str, QueueState] = {"done": "done", "fail": "fail", "processing": "processing"}
_CRLF = b"\r\n"

DOC_ID_SPELLINGS: dict[Operation, tuple[str, str]] = {
    Operation.GET_EDOC: ("docId", "docid"),
    Operation.UPDATE_STATUS: ("docid", "docId"),
}
"""Which spelling of the doc id an operation takes first when both are signed."""


class _RefusalError(Exception):
    """A FAIL answer: the axis refuses the call."""

    def __init__(self, error_code: ErrorCode | str, error_desc: str, http_status: int) -> None:
        super().__init__(error_desc)
        self.error_code = str(error_code)
        self.error_desc = error_desc
        self.http_status = http_status


@dataclass(frozen=True)
class _Caller:
    """An authenticated call: the system and its signed parameters, named as signed."""

    system: SimSystem
    signed: tuple[tuple[str, str], ...]
    """(name without the header prefix, value), in the order of the sign-header."""

    def _values(self, name: str, *, exact: bool) -> list[str]:
        return [
            value.strip()
            for key, value in self.signed
            if (key == name if exact else key.lower() == name.lower()) and value.strip()
        ]

    def param(self, name: Param | str) -> str | None:
        """A parameter's value: the spelling given first, then any letter case; None if empty."""
        found = self._values(str(name), exact=True) or self._values(str(name), exact=False)
        return found[0] if found else None

    def doc_id(self, operation: Operation) -> str | None:
        """The doc id ``operation`` works on (:data:`DOC_ID_SPELLINGS` when both are signed)."""
        first, second = DOC_ID_SPELLINGS.get(operation, ("docId", "docid"))
        found = (
            self._values(first, exact=True)
            or self._values(second, exact=True)
            or self._values(first, exact=False)
        )
        return found[0] if found else None


def _raw_header(request: Request, name: str) -> bytes | None:
    """The first value of header ``name`` as the bytes received."""
    wanted = name.lower().encode("latin-1")
    return next((value for key, value in request.headers.raw if key.lower() == wanted), None)


def _signed_fields(text: bytes, prefix: str) -> tuple[tuple[str, str], ...] | None:
    """The (name, value) pairs of a sign-header, prefix removed; None unless all are strings."""
    try:
        decoded = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
        return None
    return tuple(
        (key[len(prefix) :] if key.lower().startswith(prefix.lower()) else key, value)
        for key, value in decoded.items()
    )


def _sent_file(body: bytes, declared: str) -> bytes | None:
    """The packet ``hash-file`` names: the body, or the body without the SDK's CRLF; or None."""
    if hash_file_matches(declared, body):
        return body
    if body.endswith(_CRLF) and hash_file_matches(declared, body[: -len(_CRLF)]):
        return body[: -len(_CRLF)]
    return None


def _title_and_notation(packet: edxml.Packet) -> tuple[str, str]:
    """What ``getSentEdocList`` shows of a packet: its subject and code notation."""
    if isinstance(packet, edxml.DocumentPacket):
        code = packet.header.code
        return packet.header.subject or "", (code.code_notation if code else None) or ""
    return packet.header.description or "", ""


class EntryView(BaseModel):
    """A queue entry as the admin endpoints show it."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    message_type: MessageType
    sender: str
    recipients: list[str]
    state: QueueState
    created_time: str
    sha256: str
    size: int


class SentView(BaseModel):
    """A sent packet as the admin endpoints show it."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    message_type: MessageType
    sender: str
    recipients: list[str]
    created_time: str
    receivers: dict[str, QueueState]
    """Receiving system id → its queue state."""


def _entry_view(entry: QueueEntry) -> EntryView:
    t = entry.transmission
    return EntryView(
        doc_id=t.doc_id,
        message_type=t.message_type,
        sender=t.sender,
        recipients=list(entry.recipients),
        state=entry.state,
        created_time=t.created_time,
        sha256=t.sha256,
        size=len(t.data),
    )


class AxisSimulator:
    """A simulated axis node; :attr:`app` is the ASGI application to serve."""

    def __init__(
        self,
        systems: Systems,
        *,
        options: ProtocolOptions | None = None,
        max_clock_skew: float | None = None,
        refusals_as_200: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.systems = systems
        self.options = options or ProtocolOptions()
        self.max_clock_skew = max_clock_skew
        """Refuse signed timestamps further than this from the clock (None: not checked)."""
        self.refusals_as_200 = refusals_as_200
        self.store = AxisStore()
        self.faults = FaultState()
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.app = self._build_app()

    # -- the application ------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(
            title="Simulated national axis (VXP)",
            description=__doc__,
            openapi_url="/_sim/openapi.json",
            docs_url="/_sim/docs",
            redoc_url=None,
        )
        handlers: dict[Operation, Callable[[_Caller, bytes], Awaitable[dict[str, Any]]]] = {
            Operation.SEND_EDOC: self._send_edoc,
            Operation.GET_RECEIVED_EDOC_LIST: self._get_received,
            Operation.GET_EDOC: self._get_edoc,
            Operation.UPDATE_STATUS: self._update_status,
            Operation.GET_SENT_EDOC_LIST: self._get_sent,
            Operation.GET_AGENCIES_LIST: self._get_agencies,
        }
        for operation, handler in handlers.items():
            app.add_api_route(
                self.options.path(operation),
                self._endpoint(operation, handler),
                methods=["POST"],
                name=operation.value,
                include_in_schema=False,
            )
        self._admin_routes(app)
        return app

    def _endpoint(
        self,
        operation: Operation,
        handler: Callable[[_Caller, bytes], Awaitable[dict[str, Any]]],
    ) -> Callable[[Request], Awaitable[Response]]:
        doc_id = "" if operation is Operation.SEND_EDOC else None

        async def endpoint(request: Request) -> Response:
            delay = self.faults.delay_seconds(operation)
            if delay:
                await asyncio.sleep(delay)
            down = self.faults.down_remaining(operation)
            if down > 0:
                return JSONResponse(
                    fail_answer(
                        ErrorCode.SERVICE_UNAVAILABLE, "the axis node is down", doc_id=doc_id
                    ),
                    status_code=503,
                    headers={"Retry-After": str(max(1, math.ceil(down)))},
                )
            if self.faults.should_fail(operation):
                return JSONResponse(
                    fail_answer(
                        ErrorCode.INTERNAL_ERROR,
                        "injected failure of the axis node",
                        doc_id=doc_id,
                    ),
                    status_code=500,
                )
            try:
                caller = self._authenticate(request)
                body = await request.body()
                return JSONResponse(await handler(caller, body))
            except _RefusalError as refusal:
                return JSONResponse(
                    fail_answer(refusal.error_code, refusal.error_desc, doc_id=doc_id),
                    status_code=200 if self.refusals_as_200 else refusal.http_status,
                )

        return endpoint

    # -- authentication -------------------------------------------------------------------

    def _authenticate(self, request: Request) -> _Caller:
        """The caller, once the signature over its parameters checks out."""
        prefix = self.options.header_prefix
        text = _raw_header(request, self.options.header(Param.SIGN_HEADER))
        offered = request.headers.get(self.options.header(Param.HASH_HEADER))
        if not text or not offered:
            raise _RefusalError(
                ErrorCode.AUTH_FAILED,
                f"the request is not signed: {prefix}{Param.SIGN_HEADER} and "
                f"{prefix}{Param.HASH_HEADER} are required",
                401,
            )
        signed = _signed_fields(text, prefix)
        if signed is None:
            raise _RefusalError(
                ErrorCode.AUTH_FAILED,
                f"{prefix}{Param.SIGN_HEADER} must be a JSON object of header names to strings",
                401,
            )
        caller_id = next(
            (v for k, v in signed if k.lower() == Param.SYSTEM_ID.value and v.strip()), None
        )
        if caller_id is None:
            raise _RefusalError(ErrorCode.AUTH_FAILED, "the signed headers name no systemid", 401)
        system = self.systems.get(caller_id.strip())
        if system is None:
            raise _RefusalError(
                ErrorCode.AUTH_FAILED, f"system {caller_id!r} is not connected to the axis", 401
            )
        offered = offered.strip().lower()
        if not offered.isascii() or not hmac.compare_digest(hmac_hex(system.secret, text), offered):
            raise _RefusalError(
                ErrorCode.AUTH_FAILED,
                f"the signature ({prefix}{Param.HASH_HEADER}) does not match the signed headers "
                f"under the secret of system {caller_id!r}",
                401,
            )
        listed = request.headers.get(self.options.header(Param.SIGN_HEADER_KEY))
        if listed is not None:
            names = sorted(n.strip().lower() for n in listed.split(";") if n.strip())
            if names != sorted(name.lower() for name, _ in signed):
                raise _RefusalError(
                    ErrorCode.AUTH_FAILED,
                    f"{prefix}{Param.SIGN_HEADER_KEY} does not list exactly the signed headers",
                    401,
                )
        self._check_sent_as_signed(request, signed)
        caller = _Caller(system, signed)
        if self.max_clock_skew is not None:
            self._check_clock(caller.param(Param.TIMESTAMP))
        return caller

    def _check_sent_as_signed(self, request: Request, signed: tuple[tuple[str, str], ...]) -> None:
        """Each header the signature names carries a signed value (both, for docId/docid)."""
        prefix = self.options.header_prefix
        values: dict[str, set[str]] = {}
        for name, value in signed:
            values.setdefault(name.lower(), set()).add(value)
        for name, allowed in values.items():
            sent = request.headers.getlist(f"{prefix}{name}")
            if not sent:
                raise _RefusalError(
                    ErrorCode.AUTH_FAILED, f"header {prefix}{name} is signed but not sent", 401
                )
            if any(value not in allowed for value in sent):
                raise _RefusalError(
                    ErrorCode.AUTH_FAILED,
                    f"header {prefix}{name} differs from its signed value",
                    401,
                )

    def _check_clock(self, stamp: str | None) -> None:
        moment = parse_timestamp(stamp) if stamp else None
        if moment is None:
            raise _RefusalError(
                ErrorCode.TIMESTAMP_EXPIRED, f"the signed timestamp {stamp!r} is unreadable", 401
            )
        skew = abs((self._clock() - moment).total_seconds())
        if self.max_clock_skew is not None and skew > self.max_clock_skew:
            raise _RefusalError(
                ErrorCode.TIMESTAMP_EXPIRED,
                f"the signed timestamp {stamp} is {skew:.0f} s away from the axis clock "
                f"(at most {self.max_clock_skew:.0f} s)",
                401,
            )

    # -- operations -----------------------------------------------------------------------

    def _message_type(self, caller: _Caller, *, required: bool) -> MessageType | None:
        value = (caller.param(Param.MESSAGE_TYPE) or "").lower()
        if not value and not required:
            return None
        if value not in get_args(MessageType):
            raise _RefusalError(
                ErrorCode.BAD_REQUEST,
                f"messagetype must be edoc or status, not {value or 'missing'!r}",
                400,
            )
        return "edoc" if value == "edoc" else "status"

    def _check_service_type(self, caller: _Caller) -> None:
        service = caller.param(Param.SERVICE_TYPE)
        if service is not None and service.lower() != self.options.service_type.lower():
            raise _RefusalError(
                ErrorCode.BAD_REQUEST,
                f"servicetype must be {self.options.service_type}, not {service!r}",
                400,
            )

    async def _send_edoc(self, caller: _Caller, body: bytes) -> dict[str, Any]:
        self._check_service_type(caller)
        message_type = self._message_type(caller, required=True)
        sender = caller.param(Param.FROM)
        if sender is None:
            raise _RefusalError(ErrorCode.BAD_REQUEST, "the from parameter is required", 400)
        if not self.systems.serves(caller.system.id, sender):
            raise _RefusalError(
                ErrorCode.FORBIDDEN_SENDER,
                f"system {caller.system.id!r} may not send on behalf of {sender!r}",
                403,
            )
        if body in (b"", _CRLF):
            raise _RefusalError(ErrorCode.BAD_REQUEST, "the body (the .edxml packet) is empty", 400)
        declared = caller.param(Param.HASH_FILE)
        if declared is None:
            raise _RefusalError(ErrorCode.BAD_REQUEST, "the hash-file parameter is required", 400)
        packet_bytes = _sent_file(body, declared)
        if packet_bytes is None:
            raise _RefusalError(
                ErrorCode.HASH_MISMATCH,
                f"hash-file {declared} is the SHA-256 neither of the body nor of the body "
                "without a trailing CRLF: the packet was altered or truncated on the way",
                400,
            )
        try:
            packet = await run_in_threadpool(edxml.parse, packet_bytes)
        except edxml.EdxmlError as exc:
            raise _RefusalError(
                ErrorCode.INVALID_EDXML, f"the body is not a readable edXML packet: {exc}", 400
            ) from exc
        if packet.kind != message_type:
            raise _RefusalError(
                ErrorCode.MESSAGE_TYPE_MISMATCH,
                f"messagetype is {message_type} but the packet is a {packet.kind} packet",
                400,
            )
        recipients = list(
            dict.fromkeys(read_recipients_header(caller.param(Param.TO)) or packet.recipients)
        )
        if not recipients:
            raise _RefusalError(
                ErrorCode.UNKNOWN_RECIPIENT,
                "neither the to parameter nor the packet names a recipient",
                400,
            )
        refused = self.faults.refused(recipients)
        if refused:
            raise _RefusalError(
                self.faults.faults.refuse_error_code,
                f"the axis refuses packets for {', '.join(refused)}",
                400,
            )
        routes = self._routes(recipients)
        title, notation = _title_and_notation(packet)
        transmission = self.store.submit(
            sender_system=caller.system.id,
            sender=sender,
            recipients=recipients,
            message_type=message_type,
            data=packet_bytes,
            routes=routes,
            title=title,
            notation=notation,
        )
        return ok_answer(doc_id=transmission.doc_id)

    def _routes(self, recipients: list[str]) -> dict[str, list[str]]:
        routes: dict[str, list[str]] = {}
        unknown = []
        for code in recipients:
            systems = self.systems.route(code)
            if not systems:
                unknown.append(code)
            for system_id in systems:
                routes.setdefault(system_id, []).append(code)
        if unknown:
            raise _RefusalError(
                ErrorCode.UNKNOWN_RECIPIENT,
                f"no system connected to the axis serves {', '.join(unknown)}",
                400,
            )
        return routes

    async def _get_received(self, caller: _Caller, body: bytes) -> dict[str, Any]:
        self._check_service_type(caller)
        message_type = self._message_type(caller, required=False)
        entries = self.store.queue(caller.system.id, message_type)
        service = self.options.service_type
        return ok_answer(data=[item for e in entries for item in received_items(e, service)])

    async def _get_edoc(self, caller: _Caller, body: bytes) -> dict[str, Any]:
        entry = self._entry(caller, Operation.GET_EDOC)
        data = base64.b64encode(entry.transmission.data).decode("ascii")
        return ok_answer(doc_id=entry.transmission.doc_id, data=data)

    async def _update_status(self, caller: _Caller, body: bytes) -> dict[str, Any]:
        status = (caller.param(Param.STATUS) or "").lower()
        if status not in get_args(AckStatus):
            raise _RefusalError(
                ErrorCode.BAD_REQUEST,
                f"status must be done, fail or processing, not {status or 'missing'!r} "
                "(business statuses travel as status packets through sendEdoc)",
                400,
            )
        entry = self._entry(caller, Operation.UPDATE_STATUS)
        self.store.acknowledge(caller.system.id, entry.transmission.doc_id, _ACK_STATES[status])
        return ok_answer(doc_id=entry.transmission.doc_id)

    async def _get_sent(self, caller: _Caller, body: bytes) -> dict[str, Any]:
        message_type = self._message_type(caller, required=False)
        service = self.options.service_type
        return ok_answer(
            data=[
                item
                for transmission, entries in self.store.sent_by(caller.system.id, message_type)
                for item in sent_items(transmission, entries, service)
            ]
        )

    async def _get_agencies(self, caller: _Caller, body: bytes) -> dict[str, Any]:
        return ok_answer(data=[agency_item(a) for a in self.systems.agencies()])

    def _entry(self, caller: _Caller, operation: Operation) -> QueueEntry:
        doc_id = caller.doc_id(operation)
        if doc_id is None:
            raise _RefusalError(ErrorCode.BAD_REQUEST, "the docId parameter is required", 400)
        entry = self.store.entry(caller.system.id, doc_id)
        if entry is None:
            raise _RefusalError(
                ErrorCode.NOT_FOUND,
                f"no packet {doc_id!r} was received by system {caller.system.id!r}",
                404,
            )
        return entry

    # -- operator and test endpoints ------------------------------------------------------

    def _system(self, system_id: str) -> SimSystem:
        system = self.systems.get(system_id)
        if system is None:
            raise _RefusalError(ErrorCode.NOT_FOUND, f"no system {system_id!r}", 404)
        return system

    def _admin_routes(self, app: FastAPI) -> None:
        @app.exception_handler(_RefusalError)
        async def refusal(request: Request, exc: _RefusalError) -> Response:
            return JSONResponse(fail_answer(exc.error_code, exc.error_desc), exc.http_status)

        @app.get("/_sim/health")
        async def health() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/_sim/faults")
        async def get_faults() -> dict[str, Any]:
            return {
                **self.faults.faults.model_dump(mode="json"),
                "down_remaining_seconds": round(self.faults.down_remaining(), 3),
            }

        @app.post("/_sim/faults")
        async def set_faults(faults: Faults) -> dict[str, Any]:
            self.faults.set(faults)
            return await get_faults()

        @app.delete("/_sim/faults")
        async def clear_faults() -> dict[str, Any]:
            self.faults.clear()
            return await get_faults()

        @app.post("/_sim/reset")
        async def reset() -> dict[str, str]:
            self.store.clear()
            self.faults.clear()
            return {"status": "ok"}

        @app.get("/_sim/systems")
        async def systems() -> list[dict[str, Any]]:
            return [
                {
                    "id": system.id,
                    "agencies": [a.model_dump(exclude_none=True) for a in system.agencies],
                }
                for system in self.systems
            ]

        @app.post("/_sim/systems/{system_id}/inject")
        async def inject(
            system_id: str,
            request: Request,
            messagetype: Literal["edoc", "status"] | None = None,
            sender: Annotated[str | None, Query(alias="from")] = None,
            to: str | None = None,
        ) -> dict[str, Any]:
            system = self._system(system_id)
            data = await request.body()
            try:
                packet: edxml.Packet | None = await run_in_threadpool(edxml.parse, data)
            except edxml.EdxmlError:
                packet = None
            recipients = read_recipients_header(to)
            if not recipients and packet is not None:
                served = [c for c in packet.recipients if self.systems.serves(system.id, c)]
                recipients = served or list(packet.recipients)
            transmission = self.store.submit(
                sender_system=None,
                sender=sender or (packet.sender if packet is not None else "unknown"),
                recipients=recipients,
                message_type=messagetype or (packet.kind if packet is not None else "edoc"),
                data=data,
                routes={system.id: recipients},
            )
            return ok_answer(doc_id=transmission.doc_id)

        @app.get("/_sim/systems/{system_id}/received")
        async def received(
            system_id: str, messagetype: Literal["edoc", "status"] | None = None
        ) -> list[EntryView]:
            system = self._system(system_id)
            return [
                _entry_view(entry)
                for entry in self.store.queue(system.id, messagetype, states=None)
            ]

        @app.get("/_sim/systems/{system_id}/received/{doc_id}")
        async def received_bytes(system_id: str, doc_id: str) -> Response:
            entry = self.store.entry(self._system(system_id).id, doc_id)
            if entry is None:
                raise _RefusalError(
                    ErrorCode.NOT_FOUND, f"no packet {doc_id!r} for {system_id!r}", 404
                )
            return Response(entry.transmission.data, media_type="application/xml")

        @app.get("/_sim/systems/{system_id}/sent")
        async def sent(
            system_id: str, messagetype: Literal["edoc", "status"] | None = None
        ) -> list[SentView]:
            system = self._system(system_id)
            return [
                SentView(
                    doc_id=t.doc_id,
                    message_type=t.message_type,
                    sender=t.sender,
                    recipients=list(t.recipients),
                    created_time=t.created_time,
                    receivers={entry.system_id: entry.state for entry in entries},
                )
                for t, entries in self.store.sent_by(system.id, messagetype)
            ]
