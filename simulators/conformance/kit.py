"""The kit's stand-in for the hub: the part of the agency API a system under test calls.

It serves, on one port, ``POST /api/v1/packets`` (the system's status packets, checked and
recorded, answered as the hub answers: 202, 200 for the same bytes again, 400 invalid, 401
without the token, 403 wrong reporter, 422 unknown addressee) and the pull inbox
(``GET /api/v1/inbox``, ``GET /api/v1/inbox/{id}``, ``POST /api/v1/inbox/{id}/ack``) with
the deliveries the runner offers. Given a VXP system id and secret, it also serves the hub's
VXP endpoint (``POST /vxp/<operation>``) over the same deliveries, checking each call's
signature as the hub does (:mod:`hub.vxp.signature`) and answering as the hub answers
(:mod:`hub.vxp.answers`): ``getReceivedEdocList``/``getEdoc``/``updateStatus`` are the inbox,
``sendEdoc`` is ``POST /api/v1/packets``, ``getAgenciesList`` names the agency and the
sender, ``getSentEdocList`` is empty. Everything it sees is timed from its start, so the
checks can tell what came before and after each step.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from hub.errors import UnauthorizedError
from hub.ids import new_id
from hub.vxp.answers import (
    AgencyItem,
    Answer,
    DocAnswer,
    EdocAnswer,
    ListAnswer,
    ReceivedItem,
)
from hub.vxp.service import sent_file
from hub.vxp.signature import RawHeaders, SignedCall, matching_secret, read_call
from hub.vxp.wire import SERVICE_TYPE, ErrorCode, Operation, axis_time
from simulators.closing import Closing
from simulators.conformance.checks import Ack, Fetch, InboxView, Posted, VxpCall, read_post

__all__ = ["KitHub", "hub_verdict"]

MAX_BODY = 50 * 1024 * 1024
"""Largest packet the kit takes; status packets are a few kilobytes."""
_INBOX = "/api/v1/inbox"
_VXP = "/vxp/"
_POST_ERRORS = {
    400: ErrorCode.INVALID_EDXML,
    403: ErrorCode.FORBIDDEN_SENDER,
    422: ErrorCode.UNKNOWN_RECIPIENT,
}
"""The VXP code of each refusal of ``POST /api/v1/packets``, as the hub's endpoint maps them."""


def hub_verdict(post: Posted, agency: str, known: frozenset[str]) -> tuple[int, str | None, str]:
    """The hub's answer to a posted packet: HTTP status, error code and message.

    ``known`` are the agencies of the kit's directory (the agency under test and the sender).
    """
    if not post.authorised:
        return 401, "token.unknown", "unknown token: use the token the conformance kit printed"
    if post.issues:
        return 400, "packet.invalid", "not a valid edXML packet: " + "; ".join(post.issues[:5])
    if post.sender != agency:
        return (
            403,
            "packet.sender-mismatch",
            f"From/OrganId {post.sender!r} is not the token's agency {agency}",
        )
    if post.kind == "status":
        addressee = post.response_for.organ_id if post.response_for else None
        if addressee not in known:
            return (
                422,
                "packet.unknown-recipient",
                f"ResponseFor/OrganId {addressee!r} is not an agency the hub knows "
                f"(in this run: {', '.join(sorted(known))})",
            )
    return 202, None, "accepted"


@dataclass
class _Delivery:
    """One inbox delivery: its bytes, what is served, and what the system did with it."""

    key: str
    delivery_id: str
    packet_id: str
    kind: str
    document_id: str
    sender: str
    data: bytes
    served: bytes
    offered_at: float
    received_at: str
    status_code: str | None = None
    state: str = "available"
    reoffered_at: float | None = None
    fetches: list[Fetch] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)

    def view(self) -> InboxView:
        return InboxView(
            key=self.key,
            delivery_id=self.delivery_id,
            offered_at=self.offered_at,
            fetches=tuple(self.fetches),
            acks=tuple(self.acks),
            corrupted=self.served != self.data,
            reoffered_at=self.reoffered_at,
        )


class KitHub(Closing):
    """The hub's agency API subset on a local port, for one agency and one sender."""

    def __init__(
        self,
        *,
        agency: str,
        sender: str,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        vxp_system: str | None = None,
        vxp_secret: str | None = None,
    ) -> None:
        self.agency = agency
        self.sender = sender
        self.token = token
        self.vxp_system = vxp_system
        """The system id the VXP endpoint accepts (None: no VXP endpoint)."""
        self._vxp_secret = vxp_secret
        self._vxp_calls: list[VxpCall] = []
        self._known = frozenset({agency, sender})
        self._started = time.monotonic()
        self._changed = threading.Condition()
        self._posts: list[Posted] = []
        self._answers: dict[str, dict[str, Any]] = {}
        self._refused_calls = 0
        self._deliveries: dict[str, _Delivery] = {}
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="conformance-hub", daemon=True
        )
        self._thread.start()

    # -- what the runner uses ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL the system under test must call (its hub API)."""
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}"

    def clock(self) -> float:
        """Seconds since the kit started; every record is timed on this clock."""
        return time.monotonic() - self._started

    @property
    def posts(self) -> list[Posted]:
        """Every packet posted so far, in arrival order."""
        with self._changed:
            return list(self._posts)

    @property
    def vxp_url(self) -> str:
        """The endpoint URL an SDK-based system is configured with."""
        return f"{self.url}/vxp"

    @property
    def vxp_calls(self) -> list[VxpCall]:
        """Every call made to the VXP endpoint so far, in arrival order."""
        with self._changed:
            return list(self._vxp_calls)

    @property
    def refused_calls(self) -> int:
        """Inbox calls refused for a missing or wrong token."""
        with self._changed:
            return self._refused_calls

    def offer(
        self,
        key: str,
        delivery_id: str,
        packet_id: str,
        document_id: str,
        data: bytes,
        *,
        served: bytes | None = None,
        kind: str = "edoc",
        status_code: str | None = None,
    ) -> float:
        """Put a delivery in the inbox (a document, or a status such as a take-back, 13);
        ``served`` replaces the bytes sent back."""
        now = self.clock()
        with self._changed:
            self._deliveries[delivery_id] = _Delivery(
                key=key,
                delivery_id=delivery_id,
                packet_id=packet_id,
                kind=kind,
                document_id=document_id,
                sender=self.sender,
                data=data,
                served=data if served is None else served,
                offered_at=now,
                received_at=dt.datetime.now(dt.UTC).isoformat(),
                status_code=status_code,
            )
            self._changed.notify_all()
        return now

    def reoffer(self, delivery_id: str) -> float:
        """Make a delivery available again with its id and bytes, as a replay does."""
        now = self.clock()
        with self._changed:
            delivery = self._deliveries[delivery_id]
            delivery.state = "available"
            delivery.reoffered_at = now
            self._changed.notify_all()
        return now

    def inbox_view(self, delivery_id: str) -> InboxView | None:
        """What the system did with an inbox delivery so far."""
        with self._changed:
            delivery = self._deliveries.get(delivery_id)
            return delivery.view() if delivery else None

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``condition`` holds (rechecked on every event and every 50 ms)."""
        end = time.monotonic() + max(0.0, timeout)
        with self._changed:
            while not condition():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    # -- the API ----------------------------------------------------------------------------

    def _authorised(self, header: str | None) -> bool:
        scheme, _, offered = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            offered.strip().encode(), self.token.encode()
        )

    def post_packet(self, authorised: bool, body: bytes) -> tuple[int, dict[str, Any]]:
        """Record a posted packet and answer it as the hub would."""
        sha256 = hashlib.sha256(body).hexdigest()
        post = read_post(body, at=self.clock(), authorised=authorised, sha256=sha256)
        with self._changed:
            repeat = self._answers.get(sha256) if authorised else None
        if repeat is not None:
            answer: tuple[int, dict[str, Any]] = (200, repeat)
            post = replace(post, answer=200)
        else:
            status, code, message = hub_verdict(post, self.agency, self._known)
            post = replace(post, answer=status, error=code)
            if code is not None:
                answer = (status, _error(code, message, issues=list(post.issues)))
            else:
                addressee = (
                    post.response_for.organ_id if post.response_for else None
                ) or self.sender
                answer = (
                    202,
                    {
                        "packet_id": new_id(),
                        "kind": post.kind,
                        "document_id": (post.response_for.document_id if post.response_for else "")
                        or "",
                        "deliveries": [
                            {
                                "recipient": addressee,
                                "delivery_id": new_id(),
                                "channel": "inbox",
                                "state": "queued",
                            }
                        ],
                    },
                )
        with self._changed:
            if answer[0] == 202:
                self._answers[sha256] = answer[1]
            self._posts.append(post)
            self._changed.notify_all()
        return answer

    def list_inbox(self, kind: str | None, limit: int) -> list[dict[str, Any]]:
        """Deliveries available to the agency, oldest first (as ``InboxItem``)."""
        with self._changed:
            waiting = [
                item
                for item in self._deliveries.values()
                if item.state == "available" and kind in (None, item.kind)
            ]
        waiting.sort(key=lambda item: item.reoffered_at or item.offered_at)
        return [
            {
                "delivery_id": item.delivery_id,
                "packet_id": item.packet_id,
                "kind": item.kind,
                "document_id": item.document_id,
                "sender": item.sender,
                "status_code": item.status_code,
                "size": len(item.data),
                "received_at": item.received_at,
            }
            for item in waiting[:limit]
        ]

    def delivery(self, delivery_id: str) -> _Delivery | None:
        """An inbox delivery by id."""
        with self._changed:
            return self._deliveries.get(delivery_id)

    def record_fetch(self, delivery_id: str, complete: bool) -> None:
        """Note that the system fetched a delivery (whole or cut short)."""
        with self._changed:
            self._deliveries[delivery_id].fetches.append(Fetch(self.clock(), complete))
            self._changed.notify_all()

    def acknowledge(
        self, delivery_id: str, result: str, reason: str | None
    ) -> tuple[int, dict[str, Any]]:
        """``done`` → delivered, ``fail`` → refused; repeating is harmless, contradicting 409."""
        wanted = {"done": "delivered", "fail": "refused"}[result]
        with self._changed:
            delivery = self._deliveries[delivery_id]
            delivery.acks.append(Ack(self.clock(), result, reason))
            self._changed.notify_all()
            if delivery.state not in ("available", wanted):
                return 409, _error(
                    "delivery.conflict",
                    f"delivery {delivery_id} was acknowledged {delivery.state} before",
                )
            delivery.state = wanted
            return 200, {"delivery_id": delivery_id, "state": wanted}

    def refuse_call(self) -> None:
        """Count an inbox call without the token."""
        with self._changed:
            self._refused_calls += 1
            self._changed.notify_all()

    # -- the VXP endpoint -------------------------------------------------------------------

    def vxp_call(
        self, operation: str, headers: RawHeaders, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Check a VXP call's signature, serve it, record it; the HTTP status and the answer."""
        at = self.clock()
        try:
            call = self._vxp_caller(operation, headers)
        except _RefusalError as refusal:
            return self._vxp_refused(at, operation, refusal, authorised=False)
        try:
            answer, extra = self._vxp_serve(Operation(operation), call, body)
        except _RefusalError as refusal:
            return self._vxp_refused(at, operation, refusal, authorised=True, **refusal.extra)
        self._vxp_record(VxpCall(at, operation, True, **extra))
        return 200, answer.wire()

    def _vxp_caller(self, operation: str, headers: RawHeaders) -> SignedCall:
        if self.vxp_system is None or self._vxp_secret is None:
            raise _RefusalError(
                ErrorCode.NOT_FOUND, "the kit serves /vxp/ only with --channel vxp", 404
            )
        if operation not in {member.value for member in Operation}:
            raise _RefusalError(ErrorCode.BAD_REQUEST, f"no VXP operation {operation!r}", 404)
        try:
            call = read_call(headers)
        except UnauthorizedError as exc:
            raise _RefusalError(ErrorCode.AUTH_FAILED, f"[{exc.code}] {exc.message}", 401) from exc
        if call.system_id != self.vxp_system:
            raise _RefusalError(
                ErrorCode.AUTH_FAILED,
                f"system {call.system_id!r} is not the system under test ({self.vxp_system!r})",
                401,
            )
        if matching_secret(call, [(1, self._vxp_secret)]) is None:
            raise _RefusalError(
                ErrorCode.AUTH_FAILED,
                "the signature (hash-header) does not match the signed headers under the "
                "secret the kit printed",
                401,
            )
        return call

    def _vxp_serve(
        self, operation: Operation, call: SignedCall, body: bytes
    ) -> tuple[Answer, dict[str, Any]]:
        if operation is Operation.SEND_EDOC:
            return self._vxp_send(call, body)
        if operation is Operation.GET_RECEIVED_EDOC_LIST:
            kind = (call.param("messagetype") or "").lower() or None
            items = [
                ReceivedItem(
                    doc_id=str(item["delivery_id"]),
                    service_type=SERVICE_TYPE,
                    message_type=str(item["kind"]),
                    created_time=axis_time(dt.datetime.fromisoformat(str(item["received_at"]))),
                    updated_time=axis_time(dt.datetime.now(dt.UTC)),
                    from_code=str(item["sender"]),
                    to_code=self.agency,
                    status="pending",
                    status_desc="Chưa nhận",
                )
                for item in self.list_inbox(kind, 500)
            ]
            return ListAnswer(data=items), {}
        if operation is Operation.GET_EDOC:
            delivery = self._vxp_delivery(call, operation)
            self.record_fetch(delivery.delivery_id, complete=True)
            data = base64.b64encode(delivery.served).decode("ascii")
            return EdocAnswer(doc_id=delivery.delivery_id, data=data), {}
        if operation is Operation.UPDATE_STATUS:
            status = (call.param("status") or "").lower()
            if status not in ("done", "fail", "processing"):
                raise _RefusalError(
                    ErrorCode.BAD_REQUEST,
                    f"status must be done, fail or processing, not {status or 'missing'!r}",
                    400,
                )
            delivery = self._vxp_delivery(call, operation)
            if status != "processing":
                code, _ = self.acknowledge(delivery.delivery_id, status, f"updateStatus {status}")
                if code != 200:
                    raise _RefusalError(
                        ErrorCode.BAD_REQUEST,
                        f"docId {delivery.delivery_id} was acknowledged otherwise before",
                        409,
                    )
            return DocAnswer(doc_id=delivery.delivery_id), {}
        if operation is Operation.GET_AGENCIES_LIST:
            return ListAnswer(
                data=[AgencyItem(code=code, name="", pid="") for code in (self.agency, self.sender)]
            ), {}
        return ListAnswer(data=[]), {}

    def _vxp_send(self, call: SignedCall, body: bytes) -> tuple[Answer, dict[str, Any]]:
        message_type = (call.param("messagetype") or "").lower()
        declared = call.param("hash-file")
        packet = sent_file(body, declared) if declared else None
        if packet is None:
            raise _RefusalError(
                ErrorCode.HASH_MISMATCH,
                f"hash-file {declared!r} is not the SHA-256 of the body (without its CRLF)",
                400,
                message_type=message_type,
            )
        kind = read_post(bytes(packet), at=0.0, authorised=True, sha256="").kind
        extra = {"message_type": message_type, "kind": kind}
        if kind is not None and message_type != kind:
            raise _RefusalError(
                ErrorCode.MESSAGE_TYPE_MISMATCH,
                f"messagetype is {message_type or 'missing'} but the packet is a {kind} packet",
                400,
                **extra,
            )
        status, answer = self.post_packet(True, bytes(packet))
        if status not in (200, 202):
            error = answer.get("error", {})
            raise _RefusalError(
                _POST_ERRORS.get(status, ErrorCode.BAD_REQUEST),
                f"[{error.get('code')}] {error.get('message')}",
                status,
                **extra,
            )
        return DocAnswer(doc_id=str(answer["packet_id"])), extra

    def _vxp_delivery(self, call: SignedCall, operation: Operation) -> _Delivery:
        doc_id = call.doc_id(operation)
        delivery = self.delivery(doc_id) if doc_id else None
        if delivery is None:
            raise _RefusalError(ErrorCode.NOT_FOUND, f"no docId {doc_id!r} for this system", 404)
        return delivery

    def _vxp_refused(
        self, at: float, operation: str, refusal: _RefusalError, *, authorised: bool, **extra: Any
    ) -> tuple[int, dict[str, Any]]:
        self._vxp_record(
            VxpCall(
                at,
                operation,
                authorised,
                error_code=refusal.error_code,
                reason=refusal.desc,
                **extra,
            )
        )
        fields = {"status": "FAIL", "error_code": refusal.error_code, "error_desc": refusal.desc}
        answer = DocAnswer(**fields) if operation == Operation.SEND_EDOC else Answer(**fields)
        return refusal.http_status, answer.wire()

    def _vxp_record(self, call: VxpCall) -> None:
        with self._changed:
            self._vxp_calls.append(call)
            self._changed.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        kit = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "lienthong-conformance-kit"

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def _route(self, method: str) -> None:
                try:
                    body = self._body()
                except ValueError as exc:
                    self._json(413, _error("packet.too-large", str(exc)))
                    self.close_connection = True
                    return
                parts = urlsplit(self.path)
                path = parts.path.rstrip("/")
                if method == "GET" and path in ("/healthz", "/readyz"):
                    self._json(200, {"status": "ok"})
                    return
                if method == "POST" and path.startswith(_VXP):
                    raw = [
                        (name.encode("latin-1"), value.encode("latin-1"))
                        for name, value in self.headers.items()
                    ]
                    self._json(*kit.vxp_call(path[len(_VXP) :], raw, body))
                    return
                authorised = kit._authorised(self.headers.get("Authorization"))
                if method == "POST" and path == "/api/v1/packets":
                    self._json(*kit.post_packet(authorised, body))
                    return
                if not path.startswith(_INBOX):
                    self._json(
                        404,
                        _error(
                            "not_found",
                            f"{method} {path} is not served: the conformance kit serves "
                            "POST /api/v1/packets and the /api/v1/inbox calls",
                        ),
                    )
                    return
                if not authorised:
                    kit.refuse_call()
                    self._json(401, _error("token.unknown", "use the token the kit printed"))
                    return
                self._inbox(method, path, parse_qs(parts.query), body)

            def _inbox(
                self, method: str, path: str, query: dict[str, list[str]], body: bytes
            ) -> None:
                rest = [unquote(part) for part in path[len(_INBOX) :].split("/") if part]
                if method == "GET" and not rest:
                    kind = query.get("kind", [None])[0]
                    limit_text = query.get("limit", ["100"])[0]
                    limit = int(limit_text) if limit_text.isdigit() else 100
                    self._json(200, kit.list_inbox(kind, max(1, min(limit, 1000))))
                    return
                delivery = kit.delivery(rest[0]) if rest else None
                if delivery is None:
                    self._json(404, _error("delivery.not_found", f"no delivery {rest[:1]}"))
                    return
                if method == "GET" and len(rest) == 1:
                    self._fetch(delivery)
                    return
                if method == "POST" and rest[1:] == ["ack"]:
                    try:
                        request = json.loads(body or b"{}")
                        result = request["result"]
                        if result not in ("done", "fail"):
                            raise ValueError(result)
                    except (ValueError, KeyError, TypeError):
                        self._json(
                            422,
                            _error(
                                "request.invalid",
                                'the body must be {"result": "done" | "fail", "reason": …}',
                            ),
                        )
                        return
                    reason = request.get("reason")
                    self._json(
                        *kit.acknowledge(
                            delivery.delivery_id, result, str(reason) if reason else None
                        )
                    )
                    return
                self._json(405, _error("method.not_allowed", f"{method} {path}"))

            def _fetch(self, delivery: _Delivery) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(delivery.served)))
                sha256 = hashlib.sha256(delivery.data).hexdigest()
                self.send_header("ETag", f'"{sha256}"')
                self.send_header("X-Lienthong-Delivery-Id", delivery.delivery_id)
                self.send_header("X-Lienthong-Packet-Id", delivery.packet_id)
                self.send_header("X-Lienthong-Kind", delivery.kind)
                self.send_header("X-Lienthong-Sender", quote(delivery.sender))
                self.send_header("X-Lienthong-Sha256", sha256)
                self.end_headers()
                try:
                    self.wfile.write(delivery.served)
                    self.wfile.flush()
                except OSError:
                    kit.record_fetch(delivery.delivery_id, complete=False)
                    self.close_connection = True
                    return
                kit.record_fetch(delivery.delivery_id, complete=True)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    return b"".join(_chunks(self.rfile.readline, self.rfile.read))
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    raise ValueError(f"the body is {length} bytes; the kit takes {MAX_BODY}")
                return self.rfile.read(length) if length else b""

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler


def _chunks(readline: Callable[[], bytes], read: Callable[[int], bytes]) -> Iterator[bytes]:
    """The pieces of a chunked request body."""
    total = 0
    while True:
        size = int(readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while readline().strip():
                pass
            return
        total += size
        if total > MAX_BODY:
            raise ValueError(f"the body is over {MAX_BODY} bytes")
        yield read(size)
        readline()


class _RefusalError(Exception):
    """A FAIL answer of the kit's VXP endpoint."""

    def __init__(self, error_code: str, desc: str, http_status: int, **extra: Any) -> None:
        super().__init__(desc)
        self.error_code = str(error_code)
        self.desc = desc
        self.http_status = http_status
        self.extra = extra


def _error(code: str, message: str, **extra: object) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "element": None, "line": None, **extra}}
