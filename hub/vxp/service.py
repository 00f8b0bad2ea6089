"""The six operations of the hub's VXP endpoint, over the hub's own records.

Each call is first authenticated (:meth:`VxpService.authenticate`): the signature is read as
the SDK wrote it, the system looked up, its secrets decrypted and the HMAC checked against
each active one, so a system rotating its secret works with either during the overlap. The
system then acts as its agency, exactly as that agency's API token would:

- ``sendEdoc`` is ingest (``source="vxp"``): the same size limit and edXML checks, ``From``
  the agency or one it may send for, recipients from the packet (the ``to`` parameter is not
  used for routing: the SDK's never-cleared header map may carry an earlier call's); the
  ``DocId`` answered is the hub's packet id (the same one for the same bytes again);
- ``getReceivedEdocList`` lists the deliveries waiting for the agency (``available``), one
  item each, ``docId`` the delivery id; ``getEdoc`` gives back the packet's bytes as posted;
  ``updateStatus`` acknowledges (``done`` → delivered, ``fail`` → refused, ``processing``
  changes nothing);
- ``getSentEdocList`` reports each receiver of what the agency submitted in the last
  ``LIENTHONG_VXP_SENT_DAYS``, with the state the hub knows of it;
- ``getAgenciesList`` is the directory's active agencies, parents as ``pid``.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import structlog
from sqlalchemy import select

from hub.auth.callers import AuthenticatedAgency
from hub.channels.inbox import acknowledge, open_delivery
from hub.db.base import utcnow
from hub.db.models import Agency, Delivery, DeliveryState, Packet
from hub.directory import may_send_for
from hub.errors import (
    ConfigurationError,
    ForbiddenError,
    InvalidRequestError,
    PayloadPurgedError,
    StorageError,
    UnauthorizedError,
)
from hub.ingest.service import IngestResult, IngestService, PacketKind
from hub.payloads import BlobStore, BlobStoreError
from hub.settings import Settings
from hub.vxp.answers import (
    AgencyItem,
    DocAnswer,
    EdocAnswer,
    ListAnswer,
    ReceivedItem,
    SentItem,
)
from hub.vxp.secrets import SecretBox, record_use, system_keys
from hub.vxp.signature import RawHeaders, SignedCall, check_clock, matching_secret, read_call
from hub.vxp.wire import SERVICE_TYPE, Operation, Param, axis_time, hash_file_matches

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["RECEIVE_STATES", "VxpCaller", "VxpService", "sent_file"]

_CRLF = b"\r\n"
_log = structlog.get_logger(__name__)

AckValue = Literal["done", "fail", "processing"]
Buffer = bytes | bytearray | memoryview
"""A body as the API read it (a view of the memory it arrived in)."""

RECEIVE_STATES: dict[DeliveryState, tuple[str, str]] = {
    DeliveryState.QUEUED: ("pending", "Chưa nhận"),
    DeliveryState.RETRYING: ("pending", "Chưa nhận"),
    DeliveryState.AVAILABLE: ("pending", "Chưa nhận"),
    DeliveryState.DELIVERED: ("done", "Đã nhận"),
    DeliveryState.REFUSED: ("fail", "Nhận lỗi"),
    DeliveryState.PARKED: ("fail", "Không chuyển được"),
    DeliveryState.EXPIRED: ("fail", "Quá hạn chuyển"),
}
"""How ``getSentEdocList`` reports a delivery's state, in the axis's words (``receiveStatus``
and its description); the hub's own state is added to the description."""
_WAITING = ("pending", "Chưa nhận")
_SEND_STATUS = ("done", "Hub đã tiếp nhận")


@dataclass(frozen=True)
class VxpCaller:
    """An authenticated VXP call: the system, the agency it acts as, its signed parameters."""

    system_id: str
    agency: AuthenticatedAgency
    call: SignedCall


def sent_file(body: Buffer, declared: str) -> Buffer | None:
    """The packet ``hash-file`` names: the body, or the body without the SDK's trailing CRLF."""
    if hash_file_matches(declared, body):
        return body
    if body[-len(_CRLF) :] == _CRLF and hash_file_matches(declared, body[: -len(_CRLF)]):
        return body[: -len(_CRLF)]
    return None


class VxpService:
    """The operations of the VXP endpoint; safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        blobs: BlobStore,
        ingest: IngestService,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._settings = settings
        self._database = database
        self._blobs = blobs
        self._ingest = ingest
        self._clock = clock
        self._box: SecretBox | None = None
        self._no_box: ConfigurationError | None = None
        try:
            self._box = SecretBox(settings.vxp.key_list)
        except ConfigurationError as exc:
            self._no_box = exc

    @property
    def max_body(self) -> int:
        """Largest ``sendEdoc`` body: the packet limit and the SDK's CRLF."""
        return self._settings.ingest.max_packet_bytes + len(_CRLF)

    # -- authentication -------------------------------------------------------------------

    def authenticate(self, headers: RawHeaders) -> VxpCaller:
        """The system that signed the call, and the agency it acts as.

        Raises:
            UnauthorizedError: unsigned, signed otherwise than sent, unknown system, no
                secret matching (or only a revoked one), inactive agency, stale timestamp.
            ConfigurationError: the hub has no LIENTHONG_VXP_KEYS.
        """
        call = read_call(headers)
        if self._box is None:
            assert self._no_box is not None
            raise self._no_box
        now = self._clock()
        with self._database.transaction() as session:
            keys = system_keys(session, self._box, call.system_id)
            if keys is None:
                raise UnauthorizedError(
                    f"system {call.system_id!r} is not connected to this hub: ask the hub's "
                    "operators for a system id and secret (`lienthong agency vxp-secret CODE`)",
                    code="vxp.unknown-system",
                )
            matched = matching_secret(call, keys.active)
            if matched is None:
                revoked = matching_secret(call, keys.revoked)
                if revoked is not None and revoked.revoked_at is not None:
                    raise UnauthorizedError(
                        f"the secret of system {call.system_id!r} that signed this call was "
                        f"revoked at {revoked.revoked_at.isoformat(timespec='seconds')}",
                        code="vxp.secret-revoked",
                    )
                raise UnauthorizedError(
                    f"the signature ({Param.HASH_HEADER}) does not match the signed headers "
                    f"under any active secret of system {call.system_id!r}",
                    code="vxp.bad-signature",
                )
            agency = keys.agency
            if agency is None or not agency.active:
                raise UnauthorizedError(
                    f"the agency of system {call.system_id!r} is not active in the directory",
                    code="agency.inactive",
                )
            check_clock(call, now, self._settings.vxp.max_clock_skew)
            record_use(session, matched, now)
        return VxpCaller(call.system_id, AuthenticatedAgency.of(agency), call)

    # -- sendEdoc -------------------------------------------------------------------------

    def send_edoc(self, caller: VxpCaller, body: Buffer) -> IngestResult:
        """Ingest the packet the call carries.

        Raises:
            InvalidRequestError: a parameter is missing or wrong, the body empty, or
                ``vxp.hash-mismatch``.
            ForbiddenError: the agency may not send for ``from``.
            HubError: whatever ingest refuses the packet with.
        """
        call = caller.call
        self._check_service_type(call)
        kind = _message_type(call, required=True)
        assert kind is not None
        sender = call.param(Param.FROM)
        if sender is None:
            raise InvalidRequestError(
                "the from parameter is required: the sender's agency code", code="vxp.no-from"
            )
        with self._database.transaction() as session:
            allowed = may_send_for(session, caller.agency.code, sender)
        if not allowed:
            raise ForbiddenError(
                f"system {caller.system_id!r} (agency {caller.agency.code}) may not send on "
                f"behalf of {sender!r}",
                code="packet.sender-mismatch",
            )
        if body in (b"", _CRLF):
            raise InvalidRequestError(
                "the body (the .edxml packet) is empty", code="vxp.empty-body"
            )
        declared = call.param(Param.HASH_FILE)
        if declared is None:
            raise InvalidRequestError(
                "the hash-file parameter is required: the SHA-256 of the packet",
                code="vxp.no-hash-file",
            )
        packet = sent_file(body, declared)
        if packet is None:
            raise InvalidRequestError(
                f"hash-file {declared} is the SHA-256 neither of the body nor of the body "
                "without a trailing CRLF: the packet was altered or cut on the way",
                code="vxp.hash-mismatch",
            )
        return self._ingest.accept(packet, caller.agency, source="vxp", expected_kind=kind)

    # -- receiving ------------------------------------------------------------------------

    def received(self, caller: VxpCaller) -> ListAnswer:
        """``getReceivedEdocList``: the deliveries waiting for the agency, oldest first."""
        self._check_service_type(caller.call)
        kind = _message_type(caller.call, required=False)
        query = (
            select(
                Delivery.id,
                Delivery.recipient_code,
                Delivery.updated_at,
                Packet.kind,
                Packet.sender_code,
                Packet.received_at,
            )
            .join(Packet, Packet.id == Delivery.packet_id)
            .where(
                Delivery.recipient_code == caller.agency.code,
                Delivery.state == DeliveryState.AVAILABLE,
            )
            .order_by(Delivery.created_at, Delivery.id)
            .limit(self._settings.vxp.list_limit)
        )
        if kind is not None:
            query = query.where(Packet.kind == kind)
        with self._database.transaction() as session:
            rows = session.execute(query).all()
        status, status_desc = _WAITING
        return ListAnswer(
            data=[
                ReceivedItem(
                    doc_id=row.id,
                    service_type=SERVICE_TYPE,
                    message_type=row.kind,
                    created_time=axis_time(row.received_at),
                    updated_time=axis_time(row.updated_at),
                    from_code=row.sender_code,
                    to_code=row.recipient_code,
                    status=status,
                    status_desc=status_desc,
                )
                for row in rows
            ]
        )

    def edoc(self, caller: VxpCaller) -> EdocAnswer:
        """``getEdoc``: the packet of one of the agency's deliveries, as its sender sent it.

        Raises:
            InvalidRequestError: no doc id.
            NotFoundError: no such delivery for the agency (PayloadPurgedError: its bytes
                were removed by retention).
            ConflictError: the delivery is not available yet.
            StorageError: the payload store failed.
        """
        delivery_id = _doc_id(caller.call, Operation.GET_EDOC)
        with self._database.transaction() as session:
            delivery = open_delivery(session, caller.agency.code, delivery_id)
        try:
            data = self._blobs.read(delivery.sha256)
        except BlobStoreError as exc:
            with self._database.transaction() as session:
                purged = session.scalar(
                    select(Packet.payload_purged_at).where(Packet.id == delivery.packet_id)
                )
            if purged is not None:
                raise PayloadPurgedError(
                    f"the bytes of delivery {delivery_id} were removed by the hub's retention "
                    f"on {purged.isoformat(timespec='seconds')}, after it was acknowledged",
                ) from exc
            raise StorageError(f"the payload store failed: {exc}") from exc
        return EdocAnswer(doc_id=delivery_id, data=base64.b64encode(data).decode("ascii"))

    def update_status(self, caller: VxpCaller) -> DocAnswer:
        """``updateStatus``: ``done`` → delivered, ``fail`` → refused, ``processing`` noted.

        Raises:
            InvalidRequestError: no doc id, or a status other than done, fail, processing.
            NotFoundError: no such delivery for the agency.
            ConflictError: acknowledged otherwise before, or not available.
        """
        value = (caller.call.param(Param.STATUS) or "").lower()
        if value not in get_args(AckValue):
            raise InvalidRequestError(
                f"status must be done, fail or processing, not {value or 'missing'!r}: "
                "business statuses (01–16) travel as status packets through sendEdoc",
                code="vxp.bad-status",
            )
        delivery_id = _doc_id(caller.call, Operation.UPDATE_STATUS)
        with self._database.transaction() as session:
            if value == "processing":
                open_delivery(session, caller.agency.code, delivery_id)
            else:
                acknowledge(
                    session,
                    caller.agency.code,
                    delivery_id,
                    "done" if value == "done" else "fail",
                    None if value == "done" else f"updateStatus fail from {caller.system_id}",
                )
        return DocAnswer(doc_id=delivery_id)

    # -- history and directory ------------------------------------------------------------

    def sent(self, caller: VxpCaller) -> ListAnswer:
        """``getSentEdocList``: each receiver of what the agency submitted lately, newest
        first (of one kind when ``messagetype`` is signed)."""
        kind = _message_type(caller.call, required=False)
        since = self._clock() - dt.timedelta(days=self._settings.vxp.sent_days)
        query = (
            select(
                Packet.id.label("packet_id"),
                Packet.kind,
                Packet.sender_code,
                Packet.subject,
                Packet.code,
                Packet.received_at,
                Delivery.id.label("delivery_id"),
                Delivery.recipient_code,
                Delivery.state,
                Delivery.delivered_at,
                Delivery.acked_at,
            )
            .join(Delivery, Delivery.packet_id == Packet.id)
            .where(Packet.submitted_by == caller.agency.code, Packet.received_at >= since)
            .order_by(Packet.received_at.desc(), Packet.id, Delivery.id)
            .limit(self._settings.vxp.list_limit)
        )
        if kind is not None:
            query = query.where(Packet.kind == kind)
        with self._database.transaction() as session:
            rows = session.execute(query).all()
        return ListAnswer(data=[_sent_item(row) for row in rows])

    def agencies(self, caller: VxpCaller) -> ListAnswer:
        """``getAgenciesList``: the directory's active agencies."""
        with self._database.transaction() as session:
            rows = session.execute(
                select(Agency.code, Agency.name, Agency.parent_code)
                .where(Agency.active.is_(True))
                .order_by(Agency.code)
            ).all()
        return ListAnswer(
            data=[AgencyItem(code=code, name=name, pid=parent or "") for code, name, parent in rows]
        )

    # -- checks ---------------------------------------------------------------------------

    def _check_service_type(self, call: SignedCall) -> None:
        service = call.param(Param.SERVICE_TYPE)
        if service is not None and service.lower() != SERVICE_TYPE.lower():
            raise InvalidRequestError(
                f"servicetype must be {SERVICE_TYPE}, not {service!r}", code="vxp.bad-parameter"
            )


def _message_type(call: SignedCall, *, required: bool) -> PacketKind | None:
    value = (call.param(Param.MESSAGE_TYPE) or "").lower()
    if not value and not required:
        return None
    if value not in ("edoc", "status"):
        raise InvalidRequestError(
            f"messagetype must be edoc or status, not {value or 'missing'!r}",
            code="vxp.bad-parameter",
        )
    return "edoc" if value == "edoc" else "status"


def _doc_id(call: SignedCall, operation: Operation) -> str:
    doc_id = call.doc_id(operation)
    if doc_id is None:
        raise InvalidRequestError(
            "the docId parameter is required: the docId getReceivedEdocList listed",
            code="vxp.no-doc-id",
        )
    return doc_id


def _sent_item(row: Any) -> SentItem:
    """The item of one row of :meth:`VxpService.sent`'s query."""
    state: DeliveryState = row.state
    receive, receive_desc = RECEIVE_STATES[state]
    received_at = row.delivered_at or row.acked_at
    return SentItem(
        sender_doc_id=row.packet_id,
        receiver_doc_id=row.delivery_id,
        from_code=row.sender_code,
        to_code=row.recipient_code,
        send_status=_SEND_STATUS[0],
        send_status_desc=_SEND_STATUS[1],
        receive_status=receive,
        receive_status_desc=f"{receive_desc} ({state.value})",
        service_type=SERVICE_TYPE,
        message_type=row.kind,
        title=row.subject or "",
        notation=row.code or "",
        sent_time=axis_time(row.received_at),
        received_time=axis_time(received_at) if state is DeliveryState.DELIVERED else "",
    )
