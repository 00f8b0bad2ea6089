"""Simulated agency systems: they post packets to the hub and take delivery of theirs.

An :class:`Agency` sends documents, revokes, updates, replacements and take-backs through a
:class:`PacketPoster` (a :class:`HubClient` holding its API token, or an :class:`AxisSender`
for a ministry behind the national axis), keeps what is delivered to it (once per delivery
id, however often it is offered) and answers with status packets as its :class:`Behaviour`
says: which codes, how long after taking delivery, in which order, repeated or preceded by a
malformed packet. It takes delivery through one channel:

- :class:`WebhookEndpoint`: an HTTP path (on a :class:`WebhookServer` of its own, or shared by
  several agencies on one port) that checks the ``X-Lienthong-Signature`` HMAC and the
  timestamp as the hub's webhook contract describes, and answers as told (:class:`Reply`: 200,
  a refusal, late; per request when a ``policy`` decides); :meth:`WebhookServer.pause` refuses
  connections for a while;
- :class:`InboxPoller`: a thread that lists ``GET /api/v1/inbox``, fetches each packet, checks
  its SHA-256 and acknowledges it ``done`` (or, as told, loses some acknowledgements or never
  sends them);
- :class:`AxisInbox`: a ministry's system polling its queue at the national axis
  (``getReceivedEdocList`` → ``getEdoc`` → ``updateStatus done``);
- :class:`SdkInbox`: a system built on the axis's official SDK (the emulator,
  :class:`~simulators.vxpsdk.VxpSdk`) polling the hub's VXP endpoint the same way, and
  answering through :class:`SdkSender` (``sendEdoc``); a packet it cannot read is
  acknowledged ``fail``.

Answers are posted by one thread per agency, after the packet was acknowledged, each at its
time (at once by default, in the order the packets arrived); a post that fails transiently
(the hub or the axis unreachable, 5xx) is tried again later::

    with HubClient(url, token) as client, Agency(code, client, PROMPT) as ward:
        with WebhookEndpoint(ward, secrets=[secret]) as endpoint:
            ...  # endpoint.url goes in the directory's channel settings
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx
import structlog

import edxml
from adapters.axis import AxisClient, AxisPermanentError, AxisTransientError
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
from simulators.closing import Closing
from simulators.vxpsdk import VxpSdk

__all__ = [
    "PROMPT",
    "REFUSES_CHANGES",
    "SILENT",
    "Accepted",
    "AcceptedDelivery",
    "Agency",
    "AxisInbox",
    "AxisSender",
    "Behaviour",
    "HubAnswerError",
    "HubClient",
    "InboxPoller",
    "PacketPoster",
    "PlannedAnswer",
    "Received",
    "Reply",
    "SentDocument",
    "WebhookEndpoint",
    "WebhookRequest",
    "WebhookServer",
    "document_packet",
    "is_transient",
    "malformed_variant",
    "replacement_packet",
    "revoke_packet",
    "signature_valid",
    "take_back_packet",
    "update_packet",
]

ChannelName = Literal["webhook", "inbox", "axis", "vxp"]

DEFAULT_SUBJECT = "Về việc triển khai Kế hoạch số 201/KH-UBND"
MAX_CLOCK_SKEW = 300.0
"""Webhook timestamps further than this from the receiver's clock are refused (seconds)."""
ANSWER_RETRY_SECONDS = 300.0
"""How long an answer that fails transiently keeps being tried before it counts as an error."""

_log = structlog.get_logger(__name__)

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
    """How an agency answers what it takes delivery of: status codes per incoming packet
    kind, in order, and when and how it posts them."""

    new: tuple[str, ...] = ()
    """A new or replacing document (business type 0 or 3)."""
    revoke: tuple[str, ...] = ()
    """A revoke (type 1): 03 agrees, 02 refuses."""
    update: tuple[str, ...] = ()
    """An update (type 2): 15 agrees, 16 refuses."""
    take_back: tuple[str, ...] = ()
    """A status 13 from the sender: 15 agrees, 16 refuses."""
    timing: tuple[float, ...] = ()
    """Seconds after taking delivery of a new document at which each answer of ``new`` is
    posted (answers beyond the tuple: at the last time given; none given: at once)."""
    change_delay: float = 0.0
    """Seconds after taking delivery of a change request before answering it."""
    order: Literal["as-listed", "swapped"] = "as-listed"
    """``swapped``: each pair of consecutive answers trades places (03 before 01, 05 before
    04), keeping the times: statuses reach the hub out of order."""
    repeat: bool = False
    """Post every answer twice more: the same bytes (the hub answers with the first packet)
    and a copy with a later timestamp (a second status event)."""
    malformed: float = 0.0
    """Share of answers preceded by a malformed packet (unreadable XML, an unknown status
    code, not XML at all), which the hub must refuse with 400."""
    seed: int = 0
    """Seed of the draws (which answers get a malformed forerunner)."""

    def scaled(self, factor: float) -> Behaviour:
        """The same behaviour with every time multiplied by ``factor``."""
        return replace(
            self,
            timing=tuple(seconds * factor for seconds in self.timing),
            change_delay=self.change_delay * factor,
        )


PROMPT = Behaviour(new=("01", "03"), revoke=("03",), update=("15",), take_back=("15",))
"""Registers every document at once and agrees to every change."""
REFUSES_CHANGES = Behaviour(new=("01", "03"), revoke=("02",), update=("16",), take_back=("16",))
"""Registers every document at once and refuses every change."""
SILENT = Behaviour()
"""Takes delivery and never answers."""


@dataclass(frozen=True)
class PlannedAnswer:
    """One packet an agency will post in answer to a delivery, and when."""

    delay: float
    """Seconds after the delivery was taken."""
    data: bytes = field(repr=False)
    code: str
    """The status code, or ``malformed``."""
    about: str
    """The DocumentId answered."""
    malformed: bool = False
    """The hub must refuse it (400): posting it is the test."""


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
    redirected_from: tuple[str, ...] = ()
    """The codes the packet named that this recipient succeeds (a directory change)."""

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> AcceptedDelivery:
        """The delivery as the hub's answer lists it (fields it does not know are ignored)."""
        return cls(
            recipient=str(item["recipient"]),
            delivery_id=str(item["delivery_id"]),
            channel=str(item["channel"]),
            state=str(item["state"]),
            redirected_from=tuple(
                str(redirect["from_code"]) for redirect in item.get("redirects") or ()
            ),
        )


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
    delay: float = 0.0
    """Seconds to wait before answering (a slow system, or one the hub times out on: the
    packet is stored first, so the hub's retry brings the same delivery id again)."""

    @property
    def stores(self) -> bool:
        """Whether the agency keeps the packet when answering this."""
        return 200 <= self.status < 300


class PacketPoster(Protocol):
    """Where an agency posts its packets: the hub's API, or the national axis."""

    def post_packet(self, data: bytes) -> Accepted:
        """Post a packet; raise when it is not accepted."""
        ...


_BUSY = frozenset({429, 503})
"""Answers of a hub too busy for this request now: worth the same request again."""


class HubClient(Closing):
    """The hub's API with one bearer token (an agency's or an operator's).

    Every call but :meth:`request` is safe to repeat (posting the same bytes again answers
    the first answer), so a ``503`` (or a ``429``: the agency's uploads at once are capped) is
    retried up to ``busy_retries`` times, waiting what ``Retry-After`` asks but at most
    ``max_busy_wait`` seconds; :attr:`busy_answers` counts those seen. Many clients can share
    one ``verify`` context (loading the certificate authorities once, not per client).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        busy_retries: int = 3,
        max_busy_wait: float = 0.5,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            verify=verify,
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
            deliveries=tuple(AcceptedDelivery.of(item) for item in answer["deliveries"]),
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

    def record_changes(
        self, text: str, *, source: str = "<simulator>", dry_run: bool = False
    ) -> dict[str, Any]:
        """Record dated directory changes (a YAML change file; operator tokens)."""
        report: dict[str, Any] = self._json(
            "POST",
            "/api/v1/directory/changes",
            content=text.encode("utf-8"),
            params={"source": source, "dry_run": "true" if dry_run else "false"},
            headers={"Content-Type": "application/yaml"},
        )
        return report

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _json(self, method: str, path: str, **options: Any) -> Any:
        return _checked(self._call(method, path, **options))

    def _call(self, method: str, path: str, **options: Any) -> httpx.Response:
        for _ in range(self._busy_retries):
            response = self._http.request(method, path, **options)
            if response.status_code not in _BUSY:
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


def is_transient(exc: BaseException) -> bool:
    """Whether a failed post may succeed later (unreachable, busy, 5xx)."""
    if isinstance(exc, HubAnswerError):
        return exc.status >= 500 or exc.status in (408, 425, 429)
    if isinstance(exc, SdkSendError):
        return exc.transient
    return isinstance(exc, httpx.TransportError | AxisTransientError)


def _refusal(exc: BaseException) -> bool:
    """Whether a failed post was refused for what it carries (4xx, an axis refusal)."""
    if isinstance(exc, HubAnswerError):
        return 400 <= exc.status < 500 and not is_transient(exc)
    if isinstance(exc, SdkSendError):
        return not exc.transient
    return isinstance(exc, AxisPermanentError)


@dataclass(order=True)
class _Scheduled:
    """An answer in an agency's schedule, ordered by when it is due (then by arrival)."""

    due: float
    sequence: int
    answer: PlannedAnswer = field(compare=False)
    first_due: float = field(compare=False)
    tries: int = field(default=0, compare=False)


class Agency(Closing):
    """One agency's document system: sends packets, keeps deliveries, answers statuses."""

    def __init__(
        self,
        code: str,
        client: PacketPoster,
        behaviour: Behaviour = PROMPT,
        *,
        notation: str = "UBND-VP",
        first_number: int = 1,
        answer_retry_seconds: float = ANSWER_RETRY_SECONDS,
    ) -> None:
        self.code = code
        self.client = client
        self.behaviour = behaviour
        self.notation = notation
        self.answer_retry_seconds = answer_retry_seconds
        self.errors: list[str] = []
        """Failures while answering or taking delivery, for tests and operators to read."""
        self.answers: list[Accepted] = []
        """The hub's answers to the status packets this agency posted."""
        self.refused_answers = 0
        """Malformed answers the hub (or the axis) refused, as it should."""
        self.retried_answers = 0
        """Answer posts that failed transiently and were tried again."""
        self.dropped_answers = 0
        """Answers still scheduled when the agency closed."""
        self._numbers = itertools.count(first_number)
        self._random = random.Random(f"{behaviour.seed}:{code}")  # noqa: S311 - simulation
        self._received: dict[str, Received] = {}
        self._offers: dict[str, int] = {}
        self._changed = threading.Condition()
        self._schedule: list[_Scheduled] = []
        self._scheduled = threading.Condition()
        self._sequence = itertools.count()
        self._closing = False
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

    def has(self, delivery_id: str) -> bool:
        """Whether this delivery id was kept already."""
        with self._changed:
            return delivery_id in self._received

    def answer(self, received: Received) -> None:
        """Schedule the answers the behaviour gives ``received``, from now."""
        try:
            planned = self.plan_answers(received)
        except Exception as exc:
            self.errors.append(f"answering {received.packet_id}: {exc!r}")
            return
        now = time.monotonic()
        with self._scheduled:
            for item in planned:
                due = now + item.delay
                heapq.heappush(self._schedule, _Scheduled(due, next(self._sequence), item, due))
            self._scheduled.notify_all()

    @property
    def received(self) -> list[Received]:
        """Every delivery kept, in arrival order."""
        with self._changed:
            return list(self._received.values())

    def offers(self, delivery_id: str) -> int:
        """How many times the hub handed this delivery over."""
        with self._changed:
            return self._offers.get(delivery_id, 0)

    def repeated_offers(self) -> int:
        """Offers of delivery ids already kept (deduplicated, as receivers must)."""
        with self._changed:
            return sum(count - 1 for count in self._offers.values() if count > 1)

    def pending_answers(self) -> int:
        """Answers scheduled and not yet posted."""
        with self._scheduled:
            return len(self._schedule)

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
        """The status packets the behaviour answers ``received`` with, in listed order."""
        return [data for _, _, data, _ in self._answers_to(received.packet())]

    def plan_answers(self, received: Received) -> list[PlannedAnswer]:
        """Every packet the behaviour posts in answer to ``received``, with its delay."""
        packet = received.packet()
        answers = self._answers_to(packet)
        if not answers:
            return []
        purpose = answers[0][0]
        behaviour = self.behaviour
        if purpose == "new":
            times = behaviour.timing or (0.0,)
            delays = [times[min(index, len(times) - 1)] for index in range(len(answers))]
        else:
            delays = [behaviour.change_delay] * len(answers)
        if behaviour.order == "swapped":
            answers = _swapped(answers)
        about = packet.document_id
        planned: list[PlannedAnswer] = []
        for delay, (_, code, data, status) in zip(delays, answers, strict=True):
            if behaviour.malformed and self._random.random() < behaviour.malformed:
                broken = malformed_variant(data, self._random.randrange(3))
                planned.append(PlannedAnswer(delay, broken, "malformed", about, malformed=True))
            planned.append(PlannedAnswer(delay, data, code, about))
            if behaviour.repeat:
                planned.append(PlannedAnswer(delay, data, code, about))
                planned.append(PlannedAnswer(delay, _restamped(status, data), code, about))
        return planned

    def _answers_to(self, packet: edxml.Packet) -> list[tuple[str, str, bytes, StatusPacket]]:
        """(purpose, code, bytes, model) of each answer, in the behaviour's order."""
        if isinstance(packet, StatusPacket):
            is_take_back = packet.header.status_code == "13"
            if not is_take_back or packet.header.response_for.organ_id != self.code:
                return []
            found = []
            for code in self.behaviour.take_back:
                status = _status(
                    self.code,
                    packet.sender,
                    packet.header.response_for,
                    code,
                    _DESCRIPTIONS.get(("take_back", code)),
                )
                found.append(("take_back", code, edxml.build(status), status))
            return found
        purpose, codes = {
            1: ("revoke", self.behaviour.revoke),
            2: ("update", self.behaviour.update),
        }.get(packet.business_type, ("new", self.behaviour.new))
        made = []
        for code in codes:
            status = edxml.status_for(
                packet, code, reporter=self.code, description=_DESCRIPTIONS.get((purpose, code))
            )
            made.append((purpose, code, edxml.build(status), status))
        return made

    def _answer_loop(self) -> None:
        while True:
            with self._scheduled:
                while True:
                    now = time.monotonic()
                    if self._schedule and self._schedule[0].due <= now:
                        item = heapq.heappop(self._schedule)
                        break
                    if self._closing:
                        self.dropped_answers += len(self._schedule)
                        self._schedule.clear()
                        return
                    wait = self._schedule[0].due - now if self._schedule else None
                    self._scheduled.wait(wait)
            self._post_answer(item)

    def _post_answer(self, item: _Scheduled) -> None:
        answer = item.answer
        try:
            accepted = self.send(answer.data)
        except Exception as exc:
            if answer.malformed and _refusal(exc):
                self.refused_answers += 1
                return
            waited = time.monotonic() - item.first_due
            if is_transient(exc) and waited < self.answer_retry_seconds and not self._closing:
                self.retried_answers += 1
                item.tries += 1
                with self._scheduled:
                    item.due = time.monotonic() + min(10.0, 0.5 * 2 ** min(item.tries, 5))
                    heapq.heappush(self._schedule, item)
                return
            self.errors.append(f"answering {answer.about} with {answer.code}: {exc!r}")
            return
        if answer.malformed:
            self.errors.append(
                f"the malformed answer about {answer.about} was accepted as {accepted.packet_id}"
            )
            return
        self.answers.append(accepted)

    def close(self) -> None:
        """Stop answering: answers already due are posted first, later ones are dropped."""
        with self._scheduled:
            self._closing = True
            self._scheduled.notify_all()
        self._answerer.join(30)


def _swapped(items: list[Any]) -> list[Any]:
    """Consecutive pairs traded: [a, b, c, d, e] → [b, a, d, c, e]."""
    swapped = list(items)
    for index in range(0, len(swapped) - 1, 2):
        swapped[index], swapped[index + 1] = swapped[index + 1], swapped[index]
    return swapped


def _restamped(status: StatusPacket, original: bytes) -> bytes:
    """The status again with another description, so its bytes (and its event) differ."""
    header = status.header
    again = status.model_copy(
        update={
            "header": header.model_copy(
                update={
                    "description": f"{header.description or ''} (gửi lại)".strip(),
                    "timestamp": format_timestamp(now_local()),
                }
            )
        }
    )
    data = edxml.build(again)
    return data if data != original else original + b"\n"


def malformed_variant(data: bytes, kind: int) -> bytes:
    """A broken copy of a status packet the hub must refuse: cut in half (unreadable XML),
    without its ``StatusCode`` (an invalid packet), or not XML at all."""
    if kind == 0:
        return data[: max(1, len(data) // 2)]
    if kind == 1:
        stripped = re.sub(rb"<(\w+:)?StatusCode>[^<]*</(\w+:)?StatusCode>", b"", data)
        if stripped != data:
            return stripped
    return b'{"status": "03", "note": "not an edXML packet"}'


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


class WebhookServer(Closing):
    """An HTTP server taking webhook deliveries for one or more agencies, one path each.

    :meth:`pause` closes the listening socket, so the hub's connections are refused (an
    agency system that is down) until :meth:`resume` listens on the same port again.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._routes: dict[str, WebhookEndpoint] = {}
        self._lock = threading.Lock()
        server = self._listen(port)
        self.port = int(server.server_address[1])
        self._server: ThreadingHTTPServer | None = server
        self._thread: threading.Thread | None = self._serve()

    @property
    def url(self) -> str:
        """``http://host:port`` as a local client reaches it."""
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104
        return f"http://{shown}:{self.port}"

    @property
    def paused(self) -> bool:
        """Whether connections are refused now."""
        return self._server is None

    def mount(self, endpoint: WebhookEndpoint) -> None:
        """Serve ``endpoint`` at its path."""
        with self._lock:
            if endpoint.path in self._routes:
                raise ValueError(f"{self.url}{endpoint.path} already serves an agency")
            self._routes[endpoint.path] = endpoint

    def unmount(self, path: str) -> None:
        """Stop serving ``path`` (404 from now on)."""
        with self._lock:
            self._routes.pop(path, None)

    def endpoint(self, path: str) -> WebhookEndpoint | None:
        """The endpoint at ``path``."""
        with self._lock:
            return self._routes.get(path)

    def pause(self) -> None:
        """Refuse connections until :meth:`resume`."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(10)

    def resume(self) -> None:
        """Listen again on the same port."""
        with self._lock:
            if self._server is not None:
                return
        server = self._listen(self.port)
        with self._lock:
            self._server = server
            self._thread = self._serve()

    def _listen(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((self.host, port), self._handler(), bind_and_activate=False)
        server.allow_reuse_address = True
        server.daemon_threads = True
        try:
            server.server_bind()
            server.server_activate()
        except OSError:
            server.server_close()
            raise
        server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return server

    def _serve(self) -> threading.Thread | None:
        server = self._server
        if server is None:
            return None
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"webhook-{self.port}",
            daemon=True,
        )
        thread.start()
        return thread

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                endpoint = owner.endpoint(self.path)
                fresh: Received | None = None
                if endpoint is None:
                    reply = Reply(404, f'{{"error": "no agency at {self.path}"}}'.encode())
                else:
                    reply, fresh = endpoint.handle(headers, body)
                if reply.delay > 0:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except OSError:
                    self.close_connection = True
                if fresh is not None and endpoint is not None:
                    endpoint.agency.answer(fresh)

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler

    def close(self) -> None:
        """Stop serving."""
        self.pause()


class WebhookEndpoint(Closing):
    """An agency's webhook: checks each delivery's signature, keeps it and answers.

    It listens on a :class:`WebhookServer` of its own (``host``, ``port``) unless given a
    ``server`` shared with other agencies. Without ``secrets`` (the hub then signs nothing)
    every request counts as signed. Valid deliveries are answered with :attr:`reply`,
    or with what ``policy`` returns for each when one is set (flaky or slow systems).
    """

    path = "/edxml"

    def __init__(
        self,
        agency: Agency,
        secrets: Sequence[str],
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        path: str | None = None,
        server: WebhookServer | None = None,
        policy: Callable[[], Reply] | None = None,
    ) -> None:
        self.agency = agency
        self.secrets = tuple(secrets)
        self.path = path or type(self).path
        self.policy = policy
        self._reply = Reply()
        self._requests: list[WebhookRequest] = []
        self._lock = threading.Lock()
        self._owns_server = server is None
        self.server = server if server is not None else WebhookServer(host=host, port=port)
        self.server.mount(self)

    @property
    def url(self) -> str:
        """Where the hub should post this agency's deliveries."""
        return f"{self.server.url}{self.path}"

    @property
    def reply(self) -> Reply:
        """What valid deliveries are answered with (when no policy decides)."""
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

    def pause(self) -> None:
        """Refuse connections (every agency on this endpoint's server) until :meth:`resume`."""
        self.server.pause()

    def resume(self) -> None:
        """Take connections again."""
        self.server.resume()

    def handle(self, headers: Mapping[str, str], body: bytes) -> tuple[Reply, Received | None]:
        """Check one request and keep its packet; the reply, and the packet if it is new."""
        signed = signature_valid(headers, body, self.secrets) if self.secrets else True
        if not signed:
            reply = Reply(401, b'{"error": "bad signature or timestamp"}')
        else:
            reply = self.policy() if self.policy is not None else self.reply
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

    def close(self) -> None:
        """Stop serving (the server too, when it is this endpoint's own)."""
        self.server.unmount(self.path)
        if self._owns_server:
            self.server.close()


class _Poller(Closing):
    """A polling thread that can be paused (a system that is down) and stopped."""

    def __init__(self, name: str, interval: float, idle_interval: float | None) -> None:
        self.interval = interval
        self.idle_interval = max(interval, idle_interval or interval)
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def pause(self) -> None:
        """Stop polling until :meth:`resume`."""
        self._running.clear()

    def resume(self) -> None:
        """Poll again."""
        self._running.set()

    @property
    def paused(self) -> bool:
        """Whether polling is paused."""
        return not self._running.is_set()

    def poll_once(self) -> int:
        """One round; how many deliveries were taken."""
        raise NotImplementedError

    def _failed(self, exc: Exception) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        pause = self.interval
        while not self._stop.is_set():
            taken = 0
            if self._running.is_set():
                try:
                    taken = self.poll_once()
                except Exception as exc:
                    self._failed(exc)
            pause = self.interval if taken else min(self.idle_interval, pause * 1.5)
            self._stop.wait(pause)

    def close(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._thread.join(30)


class InboxPoller(_Poller):
    """Polls an agency's inbox: fetch, check the SHA-256, keep, acknowledge, then answer.

    ``interval`` is the pause after a round that found something; idle rounds lengthen it up
    to ``idle_interval``. ``acknowledge=False`` never acknowledges (deliveries stay
    ``available``; each is fetched once); ``lose_acks`` is the share of acknowledgements
    never sent, so the hub offers those deliveries again.
    """

    def __init__(
        self,
        agency: Agency,
        *,
        interval: float = 0.1,
        idle_interval: float | None = None,
        acknowledge: bool = True,
        lose_acks: float = 0.0,
        seed: int = 0,
    ) -> None:
        if not isinstance(agency.client, HubClient):
            raise TypeError(f"{agency.code}: an inbox is polled through a HubClient")
        super().__init__(f"inbox-{agency.code}", interval, idle_interval)
        self.agency = agency
        self.client: HubClient = agency.client
        self.acknowledge = acknowledge
        self.lose_acks = lose_acks
        self.lost_acks = 0
        """Acknowledgements not sent, on purpose."""
        self.failures = 0
        """Rounds that failed because the hub could not be reached."""
        self._random = random.Random(seed)  # noqa: S311 - simulation draws
        self._thread.start()

    def poll_once(self) -> int:
        """Take everything now waiting; returns how many deliveries were taken."""
        client = self.client
        taken = 0
        for item in client.inbox():
            delivery_id = str(item["delivery_id"])
            if not self.acknowledge and self.agency.has(delivery_id):
                continue
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
            if self.acknowledge:
                if self.lose_acks and self._random.random() < self.lose_acks:
                    self.lost_acks += 1
                else:
                    client.ack(delivery_id, "done")
            if fresh:
                self.agency.answer(received)
            taken += 1
        return taken

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, httpx.TransportError):
            self.failures += 1
            return
        self.agency.errors.append(f"polling the inbox: {exc!r}")


class AxisSender:
    """Posts an agency's packets through the national axis (``sendEdoc``), as a ministry's
    system does: the kind comes from the packet, the recipients from its ``To`` (a status:
    its ``ResponseFor/OrganId``)."""

    def __init__(self, axis: AxisClient, code: str) -> None:
        self.axis = axis
        self.code = code

    def post_packet(self, data: bytes) -> Accepted:
        """Send a packet; raises the axis's error when it refuses or cannot be reached."""
        try:
            packet: edxml.Packet | None = edxml.parse(data)
        except edxml.EdxmlError:
            packet = None
        kind: Literal["edoc", "status"] = (
            "edoc" if packet is not None and packet.kind == "edoc" else "status"
        )
        sent = self.axis.send_edoc(data, message_type=kind, sender=self.code)
        return Accepted(
            packet_id=f"axis:{sent.doc_id}",
            kind=kind,
            document_id=packet.document_id if packet is not None else "",
            deliveries=(),
            created=True,
        )


class AxisInbox(_Poller):
    """A ministry's system at the national axis: lists its queue (documents and statuses),
    downloads each packet, keeps it, acknowledges it ``done`` and answers it through the
    axis. ``acknowledge=False`` never acknowledges (the axis keeps listing the packets)."""

    def __init__(
        self,
        agency: Agency,
        axis: AxisClient,
        *,
        interval: float = 1.0,
        idle_interval: float | None = None,
        acknowledge: bool = True,
    ) -> None:
        super().__init__(f"axis-{agency.code}", interval, idle_interval)
        self.agency = agency
        self.axis = axis
        self.acknowledge = acknowledge
        self.failures = 0
        """Rounds that failed because the axis was unreachable or busy."""
        self._thread.start()

    def poll_once(self) -> int:
        """Take everything now waiting; returns how many packets were taken."""
        taken = 0
        kinds: tuple[Literal["edoc", "status"], ...] = ("edoc", "status")
        for kind in kinds:
            for item in self.axis.get_received_edoc_list(kind):
                if not self.acknowledge and self.agency.has(item.doc_id):
                    continue
                data = self.axis.get_edoc(item.doc_id)
                received = Received(
                    channel="axis",
                    delivery_id=item.doc_id,
                    packet_id=f"axis:{item.doc_id}",
                    kind=kind,
                    body=data,
                    headers={"x-axis-from": item.sender or ""},
                )
                fresh = self.agency.take(received)
                if self.acknowledge:
                    self.axis.update_status(item.doc_id, "done")
                if fresh:
                    self.agency.answer(received)
                taken += 1
        return taken

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, AxisTransientError):
            self.failures += 1
            return
        self.agency.errors.append(f"polling the axis: {exc!r}")


class SdkSendError(Exception):
    """Raised when a VXP endpoint refuses a ``sendEdoc`` (or its answer was lost)."""

    def __init__(self, message: str, *, status: int | None, error_code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code

    @property
    def transient(self) -> bool:
        """Whether posting the same bytes again later may work (no answer, or a 5xx)."""
        return self.status is None or self.status >= 500


class SdkSender:
    """Posts an agency's packets through a VXP endpoint with the official SDK (``sendEdoc``):
    the kind from the packet, its recipients from the packet (the endpoint routes by them)."""

    def __init__(self, sdk: VxpSdk, code: str) -> None:
        self.sdk = sdk
        self.code = code
        self._lock = threading.Lock()

    def post_packet(self, data: bytes) -> Accepted:
        """Send a packet; raises :class:`SdkSendError` when it is refused or lost."""
        try:
            packet: edxml.Packet | None = edxml.parse(data)
        except edxml.EdxmlError:
            packet = None
        kind: Literal["edoc", "status"] = (
            "edoc" if packet is not None and packet.kind == "edoc" else "status"
        )
        with self._lock:
            sent = self.sdk.send_edoc(data, sender=self.code, message_type=kind)
            exchange = self.sdk.last_exchange
        status = exchange.response.status_code if exchange and exchange.response else None
        if sent is None or not sent.ok:
            raise SdkSendError(
                f"sendEdoc: {sent.error_code} {sent.error_desc}"
                if sent is not None
                else f"sendEdoc: no readable answer ({self.sdk.last_error})",
                status=status if sent is not None else None,
                error_code=sent.error_code if sent is not None else None,
            )
        return Accepted(
            packet_id=sent.doc_id,
            kind=kind,
            document_id=packet.document_id if packet is not None else "",
            deliveries=(),
            created=True,
        )


class SdkInbox(_Poller):
    """An agency system built on the official SDK, polling a VXP endpoint (the hub's, or the
    conformance kit's): lists documents and statuses, fetches each, reads it, keeps it and
    acknowledges it ``done`` (``fail`` when it is not readable edXML), then answers it.

    The SDK object is the poller's own (the SDK's objects are not thread-safe); the agency's
    answers go through its :class:`SdkSender`, with another object.
    """

    def __init__(
        self,
        agency: Agency,
        sdk: VxpSdk,
        *,
        interval: float = 0.1,
        idle_interval: float | None = None,
        acknowledge: bool = True,
    ) -> None:
        super().__init__(f"vxp-{agency.code}", interval, idle_interval)
        self.agency = agency
        self.sdk = sdk
        self.acknowledge = acknowledge
        self.failures = 0
        """Rounds that failed because the endpoint could not be reached or read."""
        self._thread.start()

    def poll_once(self) -> int:
        """Take everything now waiting; returns how many packets were taken."""
        taken = 0
        kinds: tuple[Literal["edoc", "status"], ...] = ("edoc", "status")
        for kind in kinds:
            listed = self.sdk.get_received_edoc_list(kind)
            if listed is None or not listed.ok:
                self._failed(RuntimeError(self.sdk.last_error or listed))
                continue
            for item in listed.items:
                if not self.acknowledge and self.agency.has(item.doc_id):
                    continue
                fetched = self.sdk.get_edoc(item.doc_id)
                if fetched is None or fetched.data is None:
                    self._failed(RuntimeError(self.sdk.last_error or fetched))
                    continue
                if not self._readable(fetched.data):
                    self.agency.errors.append(f"{item.doc_id}: not readable edXML")
                    if self.acknowledge:
                        self.sdk.update_status(item.doc_id, "fail")
                    continue
                received = Received(
                    channel="vxp",
                    delivery_id=item.doc_id,
                    packet_id=f"vxp:{item.doc_id}",
                    kind=kind,
                    body=fetched.data,
                    headers={"x-vxp-from": item.from_code},
                )
                fresh = self.agency.take(received)
                if self.acknowledge:
                    self.sdk.update_status(item.doc_id, "done")
                if fresh:
                    self.agency.answer(received)
                taken += 1
        return taken

    @staticmethod
    def _readable(data: bytes) -> bool:
        try:
            edxml.parse(data)
        except edxml.EdxmlError:
            return False
        return True

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
