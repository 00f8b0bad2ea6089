"""The VXP protocol as the hub's endpoint reads and writes it (AXIS-SDK.md, server side).

Every parameter of a call is a header ``XroadVnpt-<name>``; the official SDK also signs
``timestamp``, ``systemid`` and ``Content-Type``. ``hash-file`` is the SHA-256 of the packet,
either as the SDK writes it (each byte in hex without zero padding) or as the usual 64
characters. Timestamps are ``ddMMyyyy'T'HHmmss+SSSS`` in Vietnamese time (``SSSS`` are
milliseconds, not an offset); the times the hub answers with are ``yyyy/MM/dd HH:mm:ss``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from enum import StrEnum

__all__ = [
    "HEADER_PREFIX",
    "SERVICE_TYPE",
    "VIETNAM",
    "ErrorCode",
    "Operation",
    "Param",
    "axis_time",
    "hash_file_forms",
    "hash_file_matches",
    "hmac_hex",
    "parse_timestamp",
]

HEADER_PREFIX = "XroadVnpt-"
SERVICE_TYPE = "eDoc"
VIETNAM = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
"""The axis's clock: Vietnamese local time, no daylight saving."""


class Operation(StrEnum):
    """The operations served, named as on the wire (the path after ``/vxp/``)."""

    SEND_EDOC = "sendEdoc"
    GET_RECEIVED_EDOC_LIST = "getReceivedEdocList"
    GET_EDOC = "getEdoc"
    UPDATE_STATUS = "updateStatus"
    GET_SENT_EDOC_LIST = "getSentEdocList"
    GET_AGENCIES_LIST = "getAgenciesList"


class Param(StrEnum):
    """Parameter names as signed (each sent as the header ``XroadVnpt-<name>``)."""

    SYSTEM_ID = "systemid"
    TIMESTAMP = "timestamp"
    FROM = "from"
    TO = "to"
    SERVICE_TYPE = "servicetype"
    MESSAGE_TYPE = "messagetype"
    HASH_FILE = "hash-file"
    STATUS = "status"
    SIGN_HEADER_KEY = "sign-header-key"
    SIGN_HEADER = "sign-header"
    HASH_HEADER = "hash-header"


class ErrorCode(StrEnum):
    """The ``ErrorCode`` of each FAIL answer: the axis family's names (the simulator's), so
    that a client knowing them classes the hub's refusals rightly."""

    AUTH_FAILED = "AUTH_FAILED"
    """Unknown system, wrong or missing signature, revoked secret, inactive agency."""
    TIMESTAMP_EXPIRED = "TIMESTAMP_EXPIRED"
    """The signed timestamp is further from the hub's clock than LIENTHONG_VXP_MAX_CLOCK_SKEW."""
    FORBIDDEN_SENDER = "FORBIDDEN_SENDER"
    """The system's agency may not send on behalf of the ``from`` agency or the packet's."""
    BAD_REQUEST = "BAD_REQUEST"
    """A parameter is missing or wrong, the packet too large, or a repeated document."""
    HASH_MISMATCH = "HASH_MISMATCH"
    """``hash-file`` is the SHA-256 neither of the body nor of the body without its CRLF."""
    INVALID_EDXML = "INVALID_EDXML"
    """The body is not a valid edXML packet (unsafe, malformed, schema or rule broken)."""
    MESSAGE_TYPE_MISMATCH = "MESSAGE_TYPE_MISMATCH"
    """``messagetype`` says edoc and the packet is a status, or the reverse."""
    UNKNOWN_RECIPIENT = "UNKNOWN_RECIPIENT"
    """A recipient is not in the hub's directory, or is switched off."""
    NOT_FOUND = "NOT_FOUND"
    """No such ``docId`` for this system (or its bytes were removed by retention)."""
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    """The hub cannot serve the call now (database, payload store, no LIENTHONG_VXP_KEYS)."""
    INTERNAL_ERROR = "INTERNAL_ERROR"
    """The hub failed while serving the call."""


def hash_file_forms(data: bytes | bytearray | memoryview) -> tuple[str, str]:
    """The two ways ``hash-file`` is written: the SDK's unpadded hex, and 64 characters."""
    digest = hashlib.sha256(data).digest()
    return "".join(format(byte, "x") for byte in digest), digest.hex()


def hash_file_matches(declared: str, data: bytes | bytearray | memoryview) -> bool:
    """Whether ``declared`` is the SHA-256 of ``data`` in either form (any letter case)."""
    text = declared.strip().lower()
    if not text.isascii():
        return False
    return any(hmac.compare_digest(text, form) for form in hash_file_forms(data))


def hmac_hex(secret: str, message: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``message`` under ``secret`` (UTF-8), as the SDK signs."""
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


_SDK_TIMESTAMP = re.compile(r"^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{1,4})$")


def parse_timestamp(text: str) -> dt.datetime | None:
    """A signed timestamp (the SDK's form, or ISO 8601; no zone is Vietnamese time)."""
    text = text.strip()
    match = _SDK_TIMESTAMP.match(text)
    try:
        if match:
            day, month, year, hour, minute, second, millis = (int(g) for g in match.groups())
            return dt.datetime(
                year, month, day, hour, minute, second, millis * 1000 % 1_000_000, tzinfo=VIETNAM
            )
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


def axis_time(moment: dt.datetime | None) -> str:
    """``yyyy/MM/dd HH:mm:ss`` in Vietnamese time, as the axis writes times; ``""`` for none."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(VIETNAM).strftime("%Y/%m/%d %H:%M:%S")
