"""The wire protocol of the national axis (VXP), in one place: names, signing, answers.

DOMAIN.md §7 fixes the operations, the parameters, the ``XroadVnpt-`` header signing and the
answer's ``status``/``ErrorCode``/``ErrorDesc``/``DocId``/``data``. Everything else is a choice
made here, so that a node that differs is met by changing this module or
:class:`ProtocolOptions`, not the client or the simulator:

- every operation is ``POST {node}/<operation>`` (``paths`` overrides a path);
- every parameter travels as a header ``XroadVnpt-<name>`` and is covered by the signature;
  the only body is the packet of ``sendEdoc``;
- the signed JSON is compact (no spaces), ASCII-escaped, keys in the order of
  ``sign-header-key``, which lists the parameter names sorted; the timestamp is local time
  (Asia/Ho_Chi_Minh) written ``ddMMyyyyTHHmmss+SSSS`` (milliseconds on four digits), the
  layout an SDK of the axis writes; ``timestamp_style="iso"`` writes ISO 8601 instead;
- answers are read leniently: field names match whatever their case, ``_`` or ``-``
  (``DocId``, ``docId``, ``doc_id``), under a few aliases each (:data:`FIELD_ALIASES`);
  ``status`` is OK when it is one of ``ok_statuses`` (any case), or, when absent, when the
  HTTP status is 2xx and there is no error code;
- error codes are symbolic strings (:class:`ErrorCode`, what the simulator answers); a FAIL
  whose code is in ``auth_error_codes`` is an authentication failure, in ``busy_error_codes``
  a transient one, and any other code a refusal.
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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.axis.models import AxisAgency, MessageType, ReceivedItem, SentItem

__all__ = [
    "AXIS_TZ",
    "FIELD_ALIASES",
    "Answer",
    "ErrorCode",
    "Operation",
    "Param",
    "ProtocolOptions",
    "canonical_sign_text",
    "content_hash",
    "fail_answer",
    "format_timestamp",
    "hmac_hex",
    "ok_answer",
    "parse_timestamp",
    "pick",
    "read_agencies",
    "read_answer",
    "read_content",
    "read_received",
    "read_recipients_header",
    "read_sent",
    "recipients_header",
    "signed_headers",
]

AXIS_TZ = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
"""The axis's clock: Vietnamese local time, no daylight saving."""


class Operation(StrEnum):
    """The operations of the axis, named as on the wire."""

    SEND_EDOC = "sendEdoc"
    GET_RECEIVED_EDOC_LIST = "getReceivedEdocList"
    GET_EDOC = "getEdoc"
    UPDATE_STATUS = "updateStatus"
    GET_SENT_EDOC_LIST = "getSentEdocList"
    GET_AGENCIES_LIST = "getAgenciesList"


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


ErrorClass = Literal["auth", "busy", "refused"]


class ProtocolOptions(BaseModel):
    """The choices where the public record is silent; defaults as described in the module."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    header_prefix: str = "XroadVnpt-"
    paths: dict[str, str] = Field(default_factory=dict)
    """Path of an operation under the node URL, when it is not ``/<operation>``."""
    service_type: str = "eDoc"
    timestamp_style: Literal["sdk", "iso"] = "sdk"
    user_agent: str = "lienthong-axis/0.1"
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
    max_retry_after: float = 3600.0
    """A ``Retry-After`` longer than this is shortened to it."""

    def path(self, operation: Operation) -> str:
        """The path of ``operation`` under the node URL."""
        return self.paths.get(operation.value, f"/{operation.value}")

    def header(self, name: str) -> str:
        """The HTTP header that carries parameter ``name``."""
        return f"{self.header_prefix}{name}"

    def classify(self, error_code: str | None) -> ErrorClass:
        """What a FAIL with ``error_code`` means for the caller."""
        code = (error_code or "").strip().upper()
        if code in {c.upper() for c in self.auth_error_codes}:
            return "auth"
        if code in {c.upper() for c in self.busy_error_codes}:
            return "busy"
        return "refused"


# -- signing --------------------------------------------------------------------------------


def content_hash(data: bytes) -> str:
    """The ``hash-file`` of a body: lowercase hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


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


def canonical_sign_text(fields: Mapping[str, str], prefix: str = "XroadVnpt-") -> str:
    """The ``sign-header`` JSON of ``fields`` (bare names → values), in their given order."""
    return json.dumps(
        {f"{prefix}{name}": value for name, value in fields.items()},
        separators=(",", ":"),
        ensure_ascii=True,
    )


def hmac_hex(secret: str, text: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``text`` (UTF-8) under ``secret`` (UTF-8)."""
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_headers(
    params: Mapping[str, str],
    *,
    system_id: str,
    secret: str,
    timestamp: str,
    options: ProtocolOptions,
) -> dict[str, str]:
    """Every header of a call: each parameter, ``systemid``, ``timestamp`` and the signature.

    Raises ValueError when a value cannot travel in an HTTP header (non-ASCII or control).
    """
    fields = {**params, Param.SYSTEM_ID.value: system_id, Param.TIMESTAMP.value: timestamp}
    for name, value in fields.items():
        if not value.isascii() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError(f"axis parameter {name!r} must be printable ASCII: {value!r}")
    ordered = {name: fields[name] for name in sorted(fields)}
    text = canonical_sign_text(ordered, options.header_prefix)
    headers = {options.header(name): value for name, value in ordered.items()}
    headers[options.header(Param.SIGN_HEADER_KEY)] = ";".join(ordered)
    headers[options.header(Param.SIGN_HEADER)] = text
    headers[options.header(Param.HASH_HEADER)] = hmac_hex(secret, text)
    return headers


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
    "agency_parent": ("parentcode", "parentid", "parent", "pcode", "parentorganid"),
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
    """Agency codes from a list, a JSON array in a string, or a comma/semicolon list."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = text.strip("[]")
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
    """The items of a ``getReceivedEdocList`` answer; items without a DocId are skipped."""
    items = []
    for fields in _objects(data):
        doc_id = _text(pick(fields, "doc_id"))
        if doc_id is None:
            continue
        items.append(
            ReceivedItem(
                doc_id=doc_id,
                sender=_text(pick(fields, "from")),
                recipients=tuple(_codes(pick(fields, "to"))),
                message_type=_message_type(pick(fields, "message_type"), message_type)
                or message_type,
                status=_text(pick(fields, "status")),
                created_time=_text(pick(fields, "created_time")),
                fields=fields,
            )
        )
    return items


def read_sent(data: Any) -> list[SentItem]:
    """The items of a ``getSentEdocList`` answer; items without a DocId are skipped."""
    items = []
    for fields in _objects(data):
        doc_id = _text(pick(fields, "doc_id"))
        if doc_id is None:
            continue
        items.append(
            SentItem(
                doc_id=doc_id,
                sender=_text(pick(fields, "from")),
                recipients=tuple(_codes(pick(fields, "to"))),
                message_type=_message_type(pick(fields, "message_type"), None),
                status=_text(pick(fields, "status")),
                created_time=_text(pick(fields, "created_time")),
                fields=fields,
            )
        )
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


# -- writing answers (the simulator) ----------------------------------------------------------


def ok_answer(*, doc_id: str | None = None, data: Any = None) -> dict[str, Any]:
    """An OK answer in the field names this project writes."""
    answer: dict[str, Any] = {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Thành công"}
    if doc_id is not None:
        answer["DocId"] = doc_id
    if data is not None:
        answer["data"] = data
    return answer


def fail_answer(error_code: str, error_desc: str) -> dict[str, Any]:
    """A FAIL answer in the field names this project writes."""
    return {"status": "FAIL", "ErrorCode": error_code, "ErrorDesc": error_desc}


def recipients_header(codes: Sequence[str]) -> str:
    """The ``to`` parameter: a compact JSON array of agency codes."""
    return json.dumps(list(codes), separators=(",", ":"), ensure_ascii=True)


def read_recipients_header(text: str | None) -> list[str]:
    """The agency codes of a ``to`` parameter (JSON array, or a comma-separated list)."""
    return _codes(text)
