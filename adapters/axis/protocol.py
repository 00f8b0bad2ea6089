"""The wire protocol of the national axis (VXP), in one place: names, signing, answers.

DOMAIN.md §7 fixes the operations and AXIS-SDK.md what the official SDK puts on the wire; the
client sends what the SDK sends wherever an axis might check it. Choices that cannot be known
from outside the axis live in :class:`ProtocolOptions` (defaults: the SDK's behaviour):

- every operation is ``POST {node}/<operation>`` (``paths`` overrides a path);
- every parameter travels as a header ``XroadVnpt-<name>`` and is signed, together with
  ``systemid``, ``timestamp`` and ``Content-Type`` (sent both as the real header and as
  ``XroadVnpt-Content-Type``); ``sign-header-key`` and the ``sign-header`` JSON list the keys
  in the order a Java ``HashMap`` iterates them (:mod:`adapters.axis.javaorder`); the JSON is
  compact and escaped as gson escapes; the timestamp is local time (Asia/Ho_Chi_Minh) written
  ``ddMMyyyyTHHmmss+SSSS`` (milliseconds on four digits), fresh on each call;
- ``sendEdoc`` sends the packet as ``application/octet-stream`` followed by ``\\r\\n``
  (``body_crlf``), its ``hash-file`` the SHA-256 of the packet alone with each byte in hex
  without zero padding (``hash_file_form``); ``getEdoc`` and ``updateStatus`` send ``{}``,
  the list calls an empty body, all three as ``application/json``;
- answers are read leniently: field names match whatever their case, ``_`` or ``-``
  (``DocId``, ``docId``, ``doc_id``), under a few aliases each (:data:`FIELD_ALIASES`);
  ``status`` is OK when it is one of ``ok_statuses`` (any case), or, when absent, when the
  HTTP status is 2xx and there is no error code;
- a FAIL whose code is in ``auth_error_codes`` is an authentication failure, in
  ``busy_error_codes`` a transient one, in ``refusal_error_codes`` a refusal; any other code
  is unknown (:meth:`ProtocolOptions.classify`): only ``"0"`` is documented, so the client
  treats it as transient unless the HTTP status itself refuses.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from adapters.axis.javaorder import java_hashmap_order
from hub.axis.models import AxisAgency, MessageType, ReceivedItem, SentItem
from hub.vxp.wire import Operation  # the axis's operations, one vocabulary with the hub's VXP door

__all__ = [
    "AXIS_TZ",
    "FIELD_ALIASES",
    "SDK_USER_AGENT",
    "SDK_VERSION",
    "Answer",
    "ErrorClass",
    "ErrorCode",
    "HashFileForm",
    "Operation",
    "Param",
    "ProtocolOptions",
    "compact_json",
    "content_hash",
    "content_type",
    "format_timestamp",
    "hash_file_matches",
    "hmac_hex",
    "parse_timestamp",
    "pick",
    "read_agencies",
    "read_answer",
    "read_content",
    "read_received",
    "read_recipients_header",
    "read_sent",
    "recipients_header",
    "request_body",
    "sign_header_text",
    "signed_headers",
]

AXIS_TZ = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
"""The axis's clock: Vietnamese local time, no daylight saving."""

SDK_USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
"""The ``User-Agent`` of the official SDK."""
SDK_VERSION = "3.0.201608"
"""The official SDK's ``XroadVnpt-version``."""


class Param(StrEnum):
    """Parameter names, as signed and sent (prefixed with ``header_prefix``)."""

    SYSTEM_ID = "systemid"
    TIMESTAMP = "timestamp"
    FROM = "from"
    TO = "to"
    SERVICE_TYPE = "servicetype"
    MESSAGE_TYPE = "messagetype"
    HASH_FILE = "hash-file"
    DOC_ID = "docId"
    STATUS = "status"
    CONTENT_TYPE = "Content-Type"
    """Signed like a parameter, and also sent as the real ``Content-Type``."""
    VERSION = "version"
    """The SDK's version: sent, never signed."""
    SIGN_HEADER_KEY = "sign-header-key"
    SIGN_HEADER = "sign-header"
    HASH_HEADER = "hash-header"


class ErrorCode(StrEnum):
    """The ``ErrorCode`` values this project answers with (the simulator) and expects."""

    AUTH_FAILED = "AUTH_FAILED"
    """Unknown system id, wrong or missing signature."""
    TIMESTAMP_EXPIRED = "TIMESTAMP_EXPIRED"
    """The signed timestamp is too far from the node's clock."""
    FORBIDDEN_SENDER = "FORBIDDEN_SENDER"
    """The system may not send on behalf of the ``from`` agency."""
    BAD_REQUEST = "BAD_REQUEST"
    """A parameter is missing or has a value the operation does not take."""
    HASH_MISMATCH = "HASH_MISMATCH"
    """``hash-file`` is not the SHA-256 of the body."""
    INVALID_EDXML = "INVALID_EDXML"
    """The body is not a readable edXML packet."""
    MESSAGE_TYPE_MISMATCH = "MESSAGE_TYPE_MISMATCH"
    """``messagetype`` says edoc and the packet is a status, or the reverse."""
    UNKNOWN_RECIPIENT = "UNKNOWN_RECIPIENT"
    """No system connected to the axis serves a recipient."""
    RECIPIENT_REFUSED = "RECIPIENT_REFUSED"
    """The axis refuses packets for a recipient."""
    NOT_FOUND = "NOT_FOUND"
    """No such ``docId`` for this system."""
    RATE_LIMITED = "RATE_LIMITED"
    """Too many calls: slow down."""
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    """The node is down or in maintenance."""
    INTERNAL_ERROR = "INTERNAL_ERROR"
    """The node failed while handling the call."""


ErrorClass = Literal["auth", "busy", "refused", "unknown"]
HashFileForm = Literal["sdk", "padded"]


class ProtocolOptions(BaseModel):
    """The choices where the public record is silent; the defaults are the SDK's behaviour."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    header_prefix: str = "XroadVnpt-"
    paths: dict[str, str] = Field(default_factory=dict)
    """Path of an operation under the node URL, when it is not ``/<operation>``."""
    service_type: str = "eDoc"
    timestamp_style: Literal["sdk", "iso"] = "sdk"
    hash_file_form: HashFileForm = "sdk"
    """``sdk``: each byte of the SHA-256 in hex without zero padding (32–64 characters), as the
    SDK writes it; ``padded``: the usual 64 characters."""
    body_crlf: bool = True
    """Append ``\\r\\n`` to the ``sendEdoc`` body, as the SDK does (``hash-file`` stays the
    packet's own)."""
    user_agent: str = SDK_USER_AGENT
    sdk_version: str | None = SDK_VERSION
    """Sent unsigned as ``XroadVnpt-version``; None sends no version header."""
    expect_continue: bool = True
    """Send ``Expect: 100-continue`` with the ``{}`` body of ``getEdoc``/``updateStatus``."""
    ok_statuses: frozenset[str] = frozenset({"ok", "success"})
    auth_error_codes: frozenset[str] = frozenset(
        {
            ErrorCode.AUTH_FAILED,
            ErrorCode.TIMESTAMP_EXPIRED,
            ErrorCode.FORBIDDEN_SENDER,
            "UNAUTHORIZED",
            "INVALID_SIGNATURE",
        }
    )
    busy_error_codes: frozenset[str] = frozenset(
        {ErrorCode.RATE_LIMITED, ErrorCode.SERVICE_UNAVAILABLE, ErrorCode.INTERNAL_ERROR}
    )
    refusal_error_codes: frozenset[str] = frozenset(
        {
            ErrorCode.BAD_REQUEST,
            ErrorCode.HASH_MISMATCH,
            ErrorCode.INVALID_EDXML,
            ErrorCode.MESSAGE_TYPE_MISMATCH,
            ErrorCode.UNKNOWN_RECIPIENT,
            ErrorCode.RECIPIENT_REFUSED,
            ErrorCode.NOT_FOUND,
        }
    )
    """Codes known to mean "this request will be refused again"; add an axis's codes here once
    their meaning is established. Any other code is unknown, hence transient."""
    max_retry_after: float = 3600.0
    """A ``Retry-After`` longer than this is shortened to it."""

    def path(self, operation: Operation) -> str:
        """The path of ``operation`` under the node URL."""
        return self.paths.get(operation.value, f"/{operation.value}")

    def header(self, name: str) -> str:
        """The HTTP header that carries parameter ``name``."""
        return f"{self.header_prefix}{name}"

    def classify(self, error_code: str | None) -> ErrorClass:
        """What a FAIL with ``error_code`` means for the caller (``unknown``: not yet known)."""
        code = (error_code or "").strip().upper()
        if not code:
            return "unknown"
        if code in {c.upper() for c in self.auth_error_codes}:
            return "auth"
        if code in {c.upper() for c in self.busy_error_codes}:
            return "busy"
        if code in {c.upper() for c in self.refusal_error_codes}:
            return "refused"
        return "unknown"


# -- signing --------------------------------------------------------------------------------


def content_hash(data: bytes, form: HashFileForm = "sdk") -> str:
    """The ``hash-file`` of a packet: its SHA-256 in lowercase hex, written in ``form``."""
    digest = hashlib.sha256(data)
    if form == "padded":
        return digest.hexdigest()
    return "".join(format(byte, "x") for byte in digest.digest())


def hash_file_matches(declared: str, data: bytes) -> bool:
    """Whether ``declared`` is the SHA-256 of ``data`` in either form (any letter case)."""
    text = declared.strip().lower()
    if not text.isascii():
        return False
    return any(
        hmac.compare_digest(text, content_hash(data, form)) for form in get_args(HashFileForm)
    )


def format_timestamp(moment: dt.datetime, style: Literal["sdk", "iso"] = "sdk") -> str:
    """``moment`` on the axis's clock, written in ``style``."""
    local = moment.astimezone(AXIS_TZ) if moment.tzinfo else moment.replace(tzinfo=AXIS_TZ)
    if style == "iso":
        return local.isoformat(timespec="milliseconds")
    return f"{local:%d%m%Y}T{local:%H%M%S}+{local.microsecond // 1000:04d}"


_SDK_TIMESTAMP = re.compile(r"^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{1,4})$")


def parse_timestamp(text: str) -> dt.datetime | None:
    """A signed timestamp in either style (a zone-less one is axis time); None if unreadable."""
    text = text.strip()
    match = _SDK_TIMESTAMP.match(text)
    try:
        if match:
            day, month, year, hour, minute, second, millis = (int(g) for g in match.groups())
            return dt.datetime(
                year, month, day, hour, minute, second, millis * 1000 % 1_000_000, tzinfo=AXIS_TZ
            )
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=AXIS_TZ)


_GSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "=": "\\u003d", "'": "\\u0027"}


def compact_json(value: Any) -> str:
    """Compact JSON as the SDK's gson writes it: no spaces, ``<>&='`` escaped, UTF-8 kept."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escape in _GSON_ESCAPES.items():
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def sign_header_text(fields: Mapping[str, str], prefix: str = "XroadVnpt-") -> str:
    """The ``sign-header`` JSON of ``fields`` (bare names → values), in their given order."""
    return compact_json({f"{prefix}{name}": value for name, value in fields.items()})


def hmac_hex(secret: str, message: str | bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``message`` (text as UTF-8) under ``secret`` (UTF-8)."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def signed_headers(
    params: Mapping[str, str],
    *,
    system_id: str,
    secret: str,
    timestamp: str,
    options: ProtocolOptions,
) -> dict[str, str]:
    """The signed headers of a call: each parameter, ``systemid``, ``timestamp``, the signature.

    The keys are put as the SDK puts them (``timestamp``, ``systemid``, then ``params`` in
    their order) and listed in Java ``HashMap`` order. Raises ValueError when a value cannot
    travel in an HTTP header (non-ASCII or control).
    """
    fields = {Param.TIMESTAMP.value: timestamp, Param.SYSTEM_ID.value: system_id, **params}
    for name, value in fields.items():
        if not value.isascii() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError(f"axis parameter {name!r} must be printable ASCII: {value!r}")
    ordered = {name: fields[name] for name in java_hashmap_order(fields)}
    text = sign_header_text(ordered, options.header_prefix)
    headers = {options.header(name): value for name, value in ordered.items()}
    headers[options.header(Param.SIGN_HEADER_KEY)] = ";".join(ordered)
    headers[options.header(Param.SIGN_HEADER)] = text
    headers[options.header(Param.HASH_HEADER)] = hmac_hex(secret, text)
    return headers


def content_type(operation: Operation) -> str:
    """The ``Content-Type`` of a call: the packet's octets for ``sendEdoc``, JSON otherwise."""
    if operation is Operation.SEND_EDOC:
        return "application/octet-stream"
    return "application/json"


def request_body(operation: Operation, packet: bytes, options: ProtocolOptions) -> bytes:
    """The body of a call: the packet (and CRLF), ``{}``, or nothing for the list calls."""
    if operation is Operation.SEND_EDOC:
        return packet + b"\r\n" if options.body_crlf else packet
    if operation in (Operation.GET_EDOC, Operation.UPDATE_STATUS):
        return b"{}"
    return b""


# -- reading answers ------------------------------------------------------------------------

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "status": ("status", "state", "result"),
    "error_code": ("errorcode", "errcode", "code"),
    "error_desc": ("errordesc", "errordescription", "errormessage", "errmsg", "message", "desc"),
    "doc_id": ("docid", "documentid", "transactionid", "id"),
    "data": ("data", "items", "list", "content"),
    "from": ("from", "fromcode", "sender", "fromorganid"),
    "to": ("to", "tocode", "recipients", "receivers", "toorganids"),
    "message_type": ("messagetype", "msgtype", "type"),
    "created_time": ("createdtime", "created", "createdat", "createddate", "senddate", "time"),
    "agency_code": ("code", "organid", "agencycode", "organcode", "id"),
    "agency_name": ("name", "organname", "agencyname", "fullname"),
    "agency_parent": ("pid", "parentcode", "parentid", "parent", "pcode", "parentorganid"),
    "content": ("content", "data", "file", "edoc", "base64"),
}
"""Field → accepted names, compared after :func:`_squash` (case, ``_``, ``-`` ignored)."""


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def pick(fields: Mapping[str, Any], field: str) -> Any:
    """The value of ``field`` in a JSON object under any of its aliases, or None."""
    squashed = {_squash(key): value for key, value in fields.items()}
    for alias in FIELD_ALIASES[field]:
        if alias in squashed and squashed[alias] is not None:
            return squashed[alias]
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


class Answer(BaseModel):
    """One answer of the axis, read leniently."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    status: str | None
    error_code: str | None
    error_desc: str | None
    doc_id: str | None
    data: Any
    fields: dict[str, Any]


def read_answer(payload: Any, *, http_ok: bool, options: ProtocolOptions) -> Answer:
    """An answer from its decoded JSON; a bare list is read as ``data``."""
    if isinstance(payload, list):
        return Answer(
            ok=http_ok, status=None, error_code=None, error_desc=None, doc_id=None,
            data=payload, fields={},
        )  # fmt: skip
    fields: dict[str, Any] = payload if isinstance(payload, dict) else {}
    status = _text(pick(fields, "status"))
    error_code = _text(pick(fields, "error_code"))
    if status is not None:
        ok = status.lower() in {s.lower() for s in options.ok_statuses}
    else:
        ok = http_ok and error_code in (None, "0", "00")
    return Answer(
        ok=ok,
        status=status,
        error_code=error_code,
        error_desc=_text(pick(fields, "error_desc")),
        doc_id=_text(pick(fields, "doc_id")),
        data=pick(fields, "data"),
        fields=fields,
    )


def _objects(data: Any) -> list[dict[str, Any]]:
    """The list of JSON objects in ``data`` (a list, or an object wrapping one)."""
    if isinstance(data, dict):
        inner = pick(data, "data")
        data = inner if isinstance(inner, list) else [data]
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, dict)]


def _codes(value: Any) -> list[str]:
    """Agency codes from a list, JSON text (an array or one string), or a comma/semicolon list."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", '"')):
            try:
                value = json.loads(text)
            except ValueError:
                value = text.strip('[]"')
        if isinstance(value, str):
            return [part.strip().strip('"') for part in re.split(r"[,;]", value) if part.strip()]
    if isinstance(value, list):
        codes: list[str] = []
        for entry in value:
            code = _text(pick(entry, "agency_code")) if isinstance(entry, dict) else _text(entry)
            if code:
                codes.append(code)
        return codes
    single = _text(value)
    return [single] if single else []


def _message_type(value: Any, default: MessageType | None) -> MessageType | None:
    text = (_text(value) or "").lower()
    if text in ("edoc", "status"):
        return "edoc" if text == "edoc" else "status"
    return default


def read_received(data: Any, *, message_type: MessageType) -> list[ReceivedItem]:
    """The items of a ``getReceivedEdocList`` answer, one per DocId (in first-seen order).

    The axis lists a packet once per receiving agency code (``to`` one code each); the items
    of one DocId become one item naming every code. Items without a DocId are skipped.
    """
    items: dict[str, ReceivedItem] = {}
    for fields in _objects(data):
        doc_id = _text(pick(fields, "doc_id"))
        if doc_id is None:
            continue
        codes = tuple(_codes(pick(fields, "to")))
        known = items.get(doc_id)
        if known is not None:
            merged = tuple(dict.fromkeys(known.recipients + codes))
            items[doc_id] = known.model_copy(update={"recipients": merged})
            continue
        items[doc_id] = ReceivedItem(
            doc_id=doc_id,
            sender=_text(pick(fields, "from")),
            recipients=codes,
            message_type=_message_type(pick(fields, "message_type"), message_type) or message_type,
            status=_text(pick(fields, "status")),
            created_time=_text(pick(fields, "created_time")),
            fields=fields,
        )
    return list(items.values())


_SENT_FIELDS: dict[str, tuple[str, ...]] = {
    "senderDocId": ("senderdocid", "docid"),
    "receiverDocId": ("receiverdocid",),
    "fromCode": ("fromcode", "from"),
    "toCode": ("tocode", "to"),
    "sendStatus": ("sendstatus",),
    "sendStatusDesc": ("sendstatusdesc",),
    "receiveStatus": ("receivestatus",),
    "receiveStatusDesc": ("receivestatusdesc",),
    "serviceType": ("servicetype",),
    "messageType": ("messagetype",),
    "title": ("title",),
    "notation": ("notation",),
    "sentTime": ("senttime",),
    "receivedTime": ("receivedtime",),
}
"""The SDK's ``getSentEdocList`` fields → accepted names (after :func:`_squash`)."""


def read_sent(data: Any) -> list[SentItem]:
    """The items of a ``getSentEdocList`` answer (one per receiver); no senderDocId: skipped."""
    items = []
    for fields in _objects(data):
        squashed = {_squash(key): value for key, value in fields.items()}
        values = {
            name: next((_text(squashed[a]) for a in aliases if a in squashed), None)
            for name, aliases in _SENT_FIELDS.items()
        }
        if values["senderDocId"] is None:
            continue
        values["messageType"] = _message_type(values["messageType"], None)
        items.append(SentItem.model_validate({**values, "fields": fields}))
    return items


def read_agencies(data: Any) -> list[AxisAgency]:
    """The agencies of a ``getAgenciesList`` answer; entries without a code are skipped."""
    agencies = []
    for fields in _objects(data):
        code = _text(pick(fields, "agency_code"))
        if code is None:
            continue
        agencies.append(
            AxisAgency(
                code=code,
                name=_text(pick(fields, "agency_name")),
                parent_code=_text(pick(fields, "agency_parent")),
                fields=fields,
            )
        )
    return agencies


def read_content(data: Any) -> bytes:
    """The packet of a ``getEdoc`` answer: base64 text, or an object holding it.

    Raises ValueError when there is no content or it is not base64.
    """
    if isinstance(data, dict):
        data = pick(data, "content")
    if not isinstance(data, str) or not data.strip():
        raise ValueError("the answer carries no packet content")
    text = re.sub(r"\s+", "", data)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the packet content is not base64: {exc}") from exc


def recipients_header(codes: Sequence[str]) -> str:
    """The ``to`` parameter: a compact JSON array of agency codes (as gson writes it)."""
    return compact_json(list(codes))


def read_recipients_header(text: str | None) -> list[str]:
    """The agency codes of a ``to`` parameter (JSON array, or a comma-separated list)."""
    return _codes(text)
