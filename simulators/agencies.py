"""Simulated local agency systems: they post packets to the hub and take delivery of theirs.

An :class:`Agency` holds an agency's API token (through a :class:`HubClient`), sends
documents, revokes, updates, replacements and take-backs, keeps what the hub delivers to it
(once per delivery id, however often it is offered) and answers with status packets as its
:class:`Behaviour` says. It takes delivery through one channel:

- :class:`WebhookEndpoint`: an HTTP server on a free localhost port that checks the
  ``X-Lienthong-Signature`` HMAC and the timestamp as the hub's webhook contract describes,
  and answers as told (:class:`Reply`: 200, or a refusal);
- :class:`InboxPoller`: a thread that lists ``GET /api/v1/inbox``, fetches each packet, checks
  its SHA-256 and acknowledges it ``done``.

Answers are posted by one thread per agency, after the packet was acknowledged, in the order
the packets arrived::

    with HubClient(url, token) as client, Agency(code, client, PROMPT) as ward:
        with WebhookEndpoint(ward, secrets=[secret]) as endpoint:
            ...  # endpoint.url goes in the directory's channel settings
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx

import edxml
from edxml.compose import format_timestamp, now_local
from edxml.models import (
    STATUS_DESCRIPTIONS_VI,
    Business,
    BusinessDocumentInfo,
    DocumentPacket,
    Organization,
    ReplacementInfo,
    ResponseFor,
    StatusHeader,
    StatusPacket,
)

__all__ = [
    "PROMPT",
    "REFUSES_CHANGES",
    "SILENT",
    "Accepted",
    "AcceptedDelivery",
    "Agency",
    "Behaviour",
    "HubAnswerError",
    "HubClient",
    "InboxPoller",
    "Received",
    "Reply",
    "SentDocument",
    "WebhookEndpoint",
    "WebhookRequest",
    "document_packet",
    "replacement_packet",
    "revoke_packet",
    "signature_valid",
    "take_back_packet",
    "update_packet",
]

ChannelName = Literal["webhook", "inbox"]

DEFAULT_SUBJECT = "Về việc triển khai Kế hoạch số 201/KH-UBND"
MAX_CLOCK_SKEW = 300.0
"""Webhook timestamps further than this from the receiver's clock are refused (seconds)."""

_DESCRIPTIONS = {
    ("revoke", "03"): "Đồng ý thu hồi văn bản",
    ("revoke", "02"): "Không đồng ý thu hồi văn bản",
    ("update", "15"): "Đồng ý cập nhật văn bản",
    ("update", "16"): "Không đồng ý cập nhật văn bản",
    ("take_back", "15"): "Đồng ý trả lại văn bản",
    ("take_back", "16"): "Không đồng ý trả lại văn bản",
}
"""Descriptions of change answers, so an answer never repeats the bytes of an earlier status."""


@dataclass(frozen=True)
class Behaviour:
    """The status codes an agency answers each kind of incoming packet with, in order."""

    new: tuple[str, ...] = ()
    """A new or replacing document (business type 0 or 3)."""
    revoke: tuple[str, ...] = ()
    """A revoke (type 1): 03 agrees, 02 refuses."""
    update: tuple[str, ...] = ()
    """An update (type 2): 15 agrees, 16 refuses."""
    take_back: tuple[str, ...] = ()
    """A status 13 from the sender: 15 agrees, 16 refuses."""


PROMPT = Behaviour(new=("01", "03"), revoke=("03",), update=("15",), take_back=("15",))
"""Registers every document at once and agrees to every change."""
REFUSES_CHANGES = Behaviour(new=("01", "03"), revoke=("02",), update=("16",), take_back=("16",))
"""Registers every document at once and refuses every change."""
SILENT = Behaviour()
"""Takes delivery and never answers."""


class HubAnswerError(Exception):
    """Raised when the hub answers a call with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        details: Mapping[str, Any] = error if isinstance(error, dict) else {}
        self.status = status
        self.code = str(details.get("code", ""))
        self.body = body
        super().__init__(f"hub answered {status} {self.code}: {details.get('message', body)}")


@dataclass(frozen=True)
class AcceptedDelivery:
    """One recipient's delivery as the hub created it."""

    recipient: str
    delivery_id: str
    channel: str
    state: str


@dataclass(frozen=True)
class Accepted:
    """The hub's answer to a posted packet."""

    packet_id: str
    kind: str
    document_id: str
    deliveries: tuple[AcceptedDelivery, ...]
    created: bool
    """False when the hub had these bytes already (200 instead of 202)."""

    def delivery_to(self, recipient: str) -> AcceptedDelivery:
        """The delivery to ``recipient``."""
        return next(item for item in self.deliveries if item.recipient == recipient)


@dataclass(frozen=True)
class SentDocument:
    """A document packet an agency posted: its model, its bytes and the hub's answer."""

    packet: DocumentPacket
    data: bytes
    accepted: Accepted


@dataclass(frozen=True)
class Received:
    """A packet the hub handed to an agency."""

    channel: ChannelName
    delivery_id: str
    packet_id: str
    kind: str
    body: bytes
    headers: Mapping[str, str] = field(repr=False)
    """Delivery headers, names in lower case."""

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes as received."""
        return hashlib.sha256(self.body).hexdigest()

    def packet(self) -> edxml.Packet:
        """The packet read back."""
        return edxml.parse(self.body)


@dataclass(frozen=True)
class Reply:
    """What a webhook endpoint answers a valid delivery with; 2xx means stored."""

    status: int = 200
    body: bytes = b""

    @property
    def stores(self) -> bool:
        """Whether the agency keeps the packet when answering this."""
        return 200 <= self.status < 300


class HubClient:
    """The hub's API with one bearer token (an agency's or an operator's).

    Every call but :meth:`request` is safe to repeat (posting the same bytes again answers
    the first answer), so a ``503`` is retried up to ``busy_retries`` times, waiting what
    ``Retry-After`` asks but at most ``max_busy_wait`` seconds; :attr:`busy_answers` counts
    the 503s seen.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        busy_retries: int = 3,
        max_busy_wait: float = 0.5,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
        self._busy_retries = busy_retries
        self._max_busy_wait = max_busy_wait
        self._lock = threading.Lock()
        self.busy_answers = 0

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Any call, answered as the hub answered it."""
        return self._http.request(method, path, **options)

    def post_packet(self, data: bytes) -> Accepted:
        """Post a packet; raises :class:`HubAnswerError` unless the hub accepts it."""
        response = self._call(
            "POST", "/api/v1/packets", content=data, headers={"Content-Type": "application/xml"}
        )
        answer = _checked(response)
        return Accepted(
            packet_id=answer["packet_id"],
            kind=answer["kind"],
            document_id=answer["document_id"],
            deliveries=tuple(AcceptedDelivery(**item) for item in answer["deliveries"]),
            created=response.status_code == 202,
        )

    def inbox(self, *, kind: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Deliveries waiting in the caller's inbox, oldest first."""
        params: dict[str, str | int] = {"limit": limit}
        if kind is not None:
            params["kind"] = kind
        items: list[dict[str, Any]] = self._json("GET", "/api/v1/inbox", params=params)
        return items

    def fetch(self, delivery_id: str) -> httpx.Response:
        """The raw packet of an inbox delivery."""
        response = self._call("GET", f"/api/v1/inbox/{quote(delivery_id, safe='')}")
        if response.status_code != 200:
            raise HubAnswerError(response.status_code, _json_of(response))
        return response

    def ack(self, delivery_id: str, result: str = "done", reason: str | None = None) -> None:
        """Acknowledge an inbox delivery ``done`` or ``fail``."""
        self._json(
            "POST",
            f"/api/v1/inbox/{quote(delivery_id, safe='')}/ack",
            json={"result": result, "reason": reason},
        )

    def packet(self, packet_id: str) -> dict[str, Any]:
        """A packet and its deliveries with their attempts."""
        view: dict[str, Any] = self._json("GET", f"/api/v1/packets/{quote(packet_id, safe='')}")
        return view

    def timeline(self, document_id: str, *, sender: str | None = None) -> dict[str, Any]:
        """A document's timeline."""
        params = {"sender": sender} if sender is not None else None
        path = f"/api/v1/documents/{quote(document_id, safe='')}/timeline"
        view: dict[str, Any] = self._json("GET", path, params=params)
        return view

    def replay(self, **selection: Any) -> dict[str, Any]:
        """Replay parked or expired deliveries (operator tokens)."""
        report: dict[str, Any] = self._json("POST", "/api/v1/replays", json=selection)
        return report

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _json(self, method: str, path: str, **options: Any) -> Any:
        return _checked(self._call(method, path, **options))

    def _call(self, method: str, path: str, **options: Any) -> httpx.Response:
        for _ in range(self._busy_retries):
            response = self._http.request(method, path, **options)
            if response.status_code != 503:
                return response
            with self._lock:
                self.busy_answers += 1
            asked = response.headers.get("Retry-After", "")
            time.sleep(min(float(asked) if asked.isdigit() else 0.0, self._max_busy_wait))
        return self._http.request(method, path, **options)


def _checked(response: httpx.Response) -> Any:
    """The JSON body of a successful answer; raises :class:`HubAnswerError` otherwise."""
    body = _json_of(response)
    if not response.is_success:
        raise HubAnswerError(response.status_code, body)
    return body


def _json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"error": {"code": "", "message": response.text[:300]}}


class Agency:
    """One agency's document system: sends packets, keeps deliveries, answers statuses."""

    def __init__(
        self,
        code: str,
        client: HubClient,
        behaviour: Behaviour = PROMPT,
        *,
        notation: str = "UBND-VP",
    ) -> None:
        self.code = code
        self.client = client
        self.behaviour = behaviour
        self.notation = notation
        self.errors: list[str] = []
        """Failures while answering or taking delivery, for tests and operators to read."""
        self.answers: list[Accepted] = []
        """The hub's answers to the status packets this agency posted."""
        self._numbers = itertools.count(1)
        self._received: dict[str, Received] = {}
        self._offers: dict[str, int] = {}
        self._changed = threading.Condition()
        self._pending: queue.Queue[Received | None] = queue.Queue()
        self._answerer = threading.Thread(
            target=self._answer_loop, name=f"answers-{code}", daemon=True
        )
        self._answerer.start()

    # -- sending -----------------------------------------------------------------------

    def send(self, data: bytes) -> Accepted:
        """Post any packet as this agency."""
        return self.client.post_packet(data)

    def send_document(
        self,
        recipients: Sequence[str],
        *,
        subject: str = DEFAULT_SUBJECT,
        files: Sequence[edxml.FileToAttach] = (),
    ) -> SentDocument:
        """A new document from this agency to ``recipients``, posted."""
        return self._post(
            document_packet(
                self.code,
                recipients,
                number=self.next_number(),
                notation=self.notation,
                subject=subject,
                files=files,
            )
        )

    def revoke(self, document: DocumentPacket, reason: str = "Thu hồi văn bản") -> SentDocument:
        """Revoke ``document`` at its recipients (business type 1, same DocumentId)."""
        return self._post(revoke_packet(document, reason))

    def update(
        self, document: DocumentPacket, reason: str = "Cập nhật thông tin văn bản"
    ) -> SentDocument:
        """Send ``document`` again as an update (business type 2, same DocumentId)."""
        return self._post(update_packet(document, reason))

    def replace(self, document: DocumentPacket, subject: str = "Văn bản thay thế") -> SentDocument:
        """A new document replacing ``document`` at all its recipients (business type 3)."""
        return self._post(
            replacement_packet(
                document, number=self.next_number(), notation=self.notation, subject=subject
            )
        )

    def take_back(
        self, document: DocumentPacket, recipient: str, reason: str | None = None
    ) -> Accepted:
        """Ask ``recipient`` to give ``document`` back (status 13)."""
        return self.send(take_back_packet(document, recipient, reason))

    def next_number(self) -> str:
        """The next document number of this agency (CodeNumber)."""
        return str(next(self._numbers))

    def _post(self, built: tuple[DocumentPacket, bytes]) -> SentDocument:
        packet, data = built
        return SentDocument(packet, data, self.send(data))

    # -- taking delivery ---------------------------------------------------------------

    def take(self, received: Received) -> bool:
        """Keep a delivered packet; False when this delivery id was already kept."""
        with self._changed:
            self._offers[received.delivery_id] = self._offers.get(received.delivery_id, 0) + 1
            fresh = received.delivery_id not in self._received
            if fresh:
                self._received[received.delivery_id] = received
            self._changed.notify_all()
        return fresh

    def answer(self, received: Received) -> None:
        """Queue the status answers the behaviour gives ``received``."""
        self._pending.put(received)

    @property
    def received(self) -> list[Received]:
        """Every delivery kept, in arrival order."""
        with self._changed:
            return list(self._received.values())

    def offers(self, delivery_id: str) -> int:
        """How many times the hub handed this delivery over."""
        with self._changed:
            return self._offers.get(delivery_id, 0)

    def wait_for(
        self, condition: Callable[[list[Received]], bool], timeout: float = 60.0
    ) -> list[Received]:
        """Wait until ``condition`` holds for the deliveries kept; raise TimeoutError if not."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: condition(list(self._received.values())), timeout
            ):
                kept = [(item.kind, item.packet_id) for item in self._received.values()]
                raise TimeoutError(f"{self.code}: not reached after {timeout} s; kept {kept}")
            return list(self._received.values())

    # -- answering ---------------------------------------------------------------------

    def statuses_for(self, received: Received) -> list[bytes]:
        """The status packets the behaviour answers ``received`` with."""
        packet = received.packet()
        if isinstance(packet, StatusPacket):
            is_take_back = packet.header.status_code == "13"
            if not is_take_back or packet.header.response_for.organ_id != self.code:
                return []
            return [
                edxml.build(
                    _status(
                        self.code,
                        packet.sender,
                        packet.header.response_for,
                        code,
                        _DESCRIPTIONS.get(("take_back", code)),
                    )
                )
                for code in self.behaviour.take_back
            ]
        purpose, codes = {
            1: ("revoke", self.behaviour.revoke),
            2: ("update", self.behaviour.update),
        }.get(packet.business_type, ("new", self.behaviour.new))
        return [
            edxml.build(
                edxml.status_for(
                    packet,
                    code,
                    reporter=self.code,
                    description=_DESCRIPTIONS.get((purpose, code)),
                )
            )
            for code in codes
        ]

    def _answer_loop(self) -> None:
        while (received := self._pending.get()) is not None:
            try:
                for data in self.statuses_for(received):
                    self.answers.append(self.send(data))
            except Exception as exc:
                self.errors.append(f"answering {received.packet_id}: {exc!r}")

    def close(self) -> None:
        """Stop answering (answers already queued are posted first)."""
        self._pending.put(None)
        self._answerer.join(30)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


# -- packets -------------------------------------------------------------------------------


def document_packet(
    sender: str,
    recipients: Sequence[str],
    *,
    number: str,
    notation: str = "UBND-VP",
    subject: str = DEFAULT_SUBJECT,
    files: Sequence[edxml.FileToAttach] = (),
    business: Business | None = None,
    document_id: str | None = None,
) -> tuple[DocumentPacket, bytes]:
    """A document packet and its bytes (a one-page PDF attached unless ``files`` are given)."""
    attachments = files or (edxml.FileToAttach(b"%PDF-1.7\n% van ban\n", name="van-ban.pdf"),)
    packet, contents = edxml.new_document(
        sender=sender,
        recipients=list(recipients),
        number=number,
        notation=notation,
        subject=subject,
        document_id=document_id,
        business=business,
        files=attachments,
    )
    return packet, edxml.build(packet, contents)


def revoke_packet(
    document: DocumentPacket, reason: str = "Thu hồi văn bản"
) -> tuple[DocumentPacket, bytes]:
    """Business type 1 for ``document``: same sender, recipients and DocumentId."""
    return _same_document(
        document, Business(business_doc_type="1", business_doc_reason=reason, paper="0")
    )


def update_packet(
    document: DocumentPacket,
    reason: str = "Cập nhật thông tin văn bản",
    files: Sequence[edxml.FileToAttach] = (),
) -> tuple[DocumentPacket, bytes]:
    """Business type 2 for ``document``: the full document again, with what changed."""
    info = BusinessDocumentInfo(document_info="1", document_receiver="0")
    business = Business(
        business_doc_type="2", business_doc_reason=reason, paper="0", document_info=info
    )
    return _same_document(document, business, files)


def replacement_packet(
    document: DocumentPacket,
    *,
    number: str,
    notation: str = "UBND-VP",
    subject: str = "Văn bản thay thế",
) -> tuple[DocumentPacket, bytes]:
    """Business type 3: a new document replacing ``document`` at all its recipients."""
    replaced = ReplacementInfo(document_id=document.document_id, organ_ids=document.recipients)
    business = Business(
        business_doc_type="3",
        business_doc_reason="Thay thế văn bản",
        paper="0",
        replacements=(replaced,),
    )
    return document_packet(
        document.sender,
        document.recipients,
        number=number,
        notation=notation,
        subject=subject,
        business=business,
    )


def take_back_packet(document: DocumentPacket, recipient: str, reason: str | None = None) -> bytes:
    """Status 13: the sender of ``document`` asks ``recipient`` to give it back."""
    about = edxml.status_for(document, "13", reporter=document.sender).header.response_for
    return edxml.build(_status(document.sender, recipient, about, "13", reason))


def _same_document(
    document: DocumentPacket, business: Business, files: Sequence[edxml.FileToAttach] = ()
) -> tuple[DocumentPacket, bytes]:
    code = document.header.code
    return document_packet(
        document.sender,
        document.recipients,
        number=(code.code_number if code else None) or "1",
        notation=(code.code_notation if code else None) or "UBND-VP",
        subject=document.header.subject or DEFAULT_SUBJECT,
        files=files,
        business=business,
        document_id=document.document_id,
    )


def _status(
    reporter: str, addressee: str, about: ResponseFor, code: str, description: str | None
) -> StatusPacket:
    """A status from ``reporter`` about ``about``'s document, addressed to ``addressee``."""
    return StatusPacket(
        header=StatusHeader(
            from_=Organization(organ_id=reporter),
            response_for=ResponseFor(
                organ_id=addressee,
                code=about.code,
                promulgation_date=about.promulgation_date,
                document_id=about.document_id,
            ),
            status_code=code,
            description=description or STATUS_DESCRIPTIONS_VI[code],
            timestamp=format_timestamp(now_local()),
        )
    )


def signature_valid(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    *,
    now: float | None = None,
    max_skew: float = MAX_CLOCK_SKEW,
) -> bool:
    """Whether a webhook request is signed with one of ``secrets`` and recent enough.

    ``headers`` are named in lower case. The signed bytes are the timestamp header's text,
    ``.``, then the body; each ``sha256=<hex>`` of the signature header is an HMAC-SHA256.
    """
    timestamp = headers.get("x-lienthong-timestamp", "")
    offered = [part.strip() for part in headers.get("x-lienthong-signature", "").split(",")]
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > max_skew:
        return False
    signed = timestamp.encode("ascii") + b"." + body
    expected = [
        "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        for secret in secrets
    ]
    return any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in offered)


@dataclass(frozen=True)
class WebhookRequest:
    """A request as the endpoint got it, valid or not."""

    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    signed: bool
    status: int
    """What the endpoint answered."""


class WebhookEndpoint:
    """An agency's webhook: checks each delivery's signature, keeps it and answers."""

    path = "/edxml"

    def __init__(self, agency: Agency, secrets: Sequence[str], *, port: int = 0) -> None:
        self.agency = agency
        self.secrets = tuple(secrets)
        self._reply = Reply()
        self._requests: list[WebhookRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"webhook-{agency.code}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """Where the hub should post this agency's deliveries."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    @property
    def reply(self) -> Reply:
        """What valid deliveries are answered with."""
        with self._lock:
            return self._reply

    @reply.setter
    def reply(self, value: Reply) -> None:
        with self._lock:
            self._reply = value

    @property
    def requests(self) -> list[WebhookRequest]:
        """Every request received, in order."""
        with self._lock:
            return list(self._requests)

    def _handle(
        self, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Reply, Received | None]:
        signed = path == self.path and signature_valid(headers, body, self.secrets)
        reply = self.reply if signed else Reply(401, b'{"error": "bad signature or timestamp"}')
        with self._lock:
            self._requests.append(WebhookRequest(headers, body, signed, reply.status))
        if not signed or not reply.stores:
            return reply, None
        received = Received(
            channel="webhook",
            delivery_id=headers.get("x-lienthong-delivery-id", ""),
            packet_id=headers.get("x-lienthong-packet-id", ""),
            kind=headers.get("x-lienthong-kind", ""),
            body=body,
            headers=headers,
        )
        return reply, received if self.agency.take(received) else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                reply, fresh = endpoint._handle(self.path, headers, body)
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                self.wfile.flush()
                if fresh is not None:
                    endpoint.agency.answer(fresh)

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class InboxPoller:
    """Polls an agency's inbox: fetch, check the SHA-256, keep, acknowledge, then answer."""

    def __init__(self, agency: Agency, *, interval: float = 0.1) -> None:
        self.agency = agency
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"inbox-{agency.code}", daemon=True)
        self._thread.start()

    def poll_once(self) -> int:
        """Take everything now waiting; returns how many deliveries were taken."""
        client = self.agency.client
        taken = 0
        for item in client.inbox():
            delivery_id = str(item["delivery_id"])
            response = client.fetch(delivery_id)
            headers = {name.lower(): value for name, value in response.headers.items()}
            received = Received(
                channel="inbox",
                delivery_id=headers.get("x-lienthong-delivery-id", delivery_id),
                packet_id=headers.get("x-lienthong-packet-id", str(item["packet_id"])),
                kind=headers.get("x-lienthong-kind", str(item["kind"])),
                body=response.content,
                headers=headers,
            )
            if received.sha256 != headers.get("x-lienthong-sha256"):
                client.ack(delivery_id, "fail", "the packet does not match its SHA-256")
                self.agency.errors.append(f"{delivery_id}: SHA-256 mismatch")
                continue
            fresh = self.agency.take(received)
            client.ack(delivery_id, "done")
            if fresh:
                self.agency.answer(received)
            taken += 1
        return taken

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                self.agency.errors.append(f"polling the inbox: {exc!r}")
            self._stop.wait(self.interval)

    def close(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._thread.join(30)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
