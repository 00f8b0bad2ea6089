"""Reading a VXP call's signed headers and checking them, as the official SDK signs them.

The SDK signs a JSON object of its headers (``XroadVnpt-sign-header``) with HMAC-SHA256 under
the system's secret (``XroadVnpt-hash-header``), listing the names in
``XroadVnpt-sign-header-key``. The JSON's key order is a Java ``HashMap``'s and its escaping
gson's, so the HMAC is computed over the sign-header **as received**, never rebuilt; then
every header the JSON names must be on the request with a signed value. The SDK's header map
is never cleared, so a call also carries the parameters of earlier calls, and a name may be
signed under two spellings (``docId`` and ``docid``) with different values: both are
accepted, and :data:`DOC_ID_SPELLINGS` says which one each operation takes.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from hub.errors import UnauthorizedError
from hub.vxp.wire import HEADER_PREFIX, Operation, Param, hmac_hex, parse_timestamp

__all__ = [
    "DOC_ID_SPELLINGS",
    "RawHeaders",
    "SignedCall",
    "check_clock",
    "matching_secret",
    "read_call",
]

RawHeaders = Sequence[tuple[bytes, bytes]]
"""Request headers as received: (name, value) bytes, repeats kept (ASGI's ``headers``)."""

DOC_ID_SPELLINGS: dict[Operation, tuple[str, str]] = {
    Operation.GET_EDOC: ("docId", "docid"),
    Operation.UPDATE_STATUS: ("docid", "docId"),
}
"""Which spelling of the doc id an operation takes first when both are signed: the known
integrator that mixes them sends ``docId`` on getEdoc and ``docid`` on updateStatus, and the
other key is then the leftover of the other operation in the SDK's map."""

_Key = TypeVar("_Key")


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


@dataclass(frozen=True)
class SignedCall:
    """A call's signed parameters, as its sign-header names them (prefix removed)."""

    system_id: str
    signed: tuple[tuple[str, str], ...]
    """(name, value) in the order of the sign-header."""
    sign_header: bytes
    """The ``XroadVnpt-sign-header`` bytes as received: what the HMAC covers."""
    hash_header: str
    """The ``XroadVnpt-hash-header`` offered (lowercase hex)."""

    def _values(self, name: str, *, exact: bool) -> list[str]:
        return [
            value.strip()
            for key, value in self.signed
            if (key == name if exact else key.lower() == name.lower()) and value.strip()
        ]

    def param(self, name: str) -> str | None:
        """A parameter's value: the spelling given first, then any letter case; None if empty."""
        found = self._values(name, exact=True) or self._values(name, exact=False)
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


def _headers(raw: RawHeaders) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for name, value in raw:
        found.setdefault(name.decode("latin-1").lower(), []).append(value)
    return found


def read_call(raw: RawHeaders) -> SignedCall:
    """The signed call of a request, once its headers agree with what they sign.

    The secret is not checked here (:func:`matching_secret`).

    Raises:
        UnauthorizedError: no signature, an unreadable sign-header, no ``systemid``,
            ``sign-header-key`` listing other names, or a signed header sent otherwise.
    """
    headers = _headers(raw)
    sign_name = f"{HEADER_PREFIX}{Param.SIGN_HEADER}".lower()
    hash_name = f"{HEADER_PREFIX}{Param.HASH_HEADER}".lower()
    text = (headers.get(sign_name) or [b""])[0]
    offered = _text((headers.get(hash_name) or [b""])[0]).strip().lower()
    if not text.strip() or not offered:
        raise UnauthorizedError(
            f"the request is not signed: {HEADER_PREFIX}{Param.SIGN_HEADER} and "
            f"{HEADER_PREFIX}{Param.HASH_HEADER} are required (the SDK sends both)",
            code="vxp.unsigned",
        )
    signed = _signed_fields(text)
    if signed is None:
        raise UnauthorizedError(
            f"{HEADER_PREFIX}{Param.SIGN_HEADER} must be a JSON object of header names to "
            "text values",
            code="vxp.bad-sign-header",
        )
    system_id = next(
        (v.strip() for k, v in signed if k.lower() == Param.SYSTEM_ID.value and v.strip()), None
    )
    if system_id is None:
        raise UnauthorizedError(
            f"the signed headers name no {Param.SYSTEM_ID}: sign {HEADER_PREFIX}systemid",
            code="vxp.no-system",
        )
    listed = headers.get(f"{HEADER_PREFIX}{Param.SIGN_HEADER_KEY}".lower())
    if listed:
        names = sorted(n.strip().lower() for n in _text(listed[0]).split(";") if n.strip())
        if names != sorted(name.lower() for name, _ in signed):
            raise UnauthorizedError(
                f"{HEADER_PREFIX}{Param.SIGN_HEADER_KEY} does not list exactly the headers "
                f"{HEADER_PREFIX}{Param.SIGN_HEADER} signs",
                code="vxp.bad-sign-header",
            )
    _check_sent_as_signed(headers, signed)
    return SignedCall(system_id=system_id, signed=signed, sign_header=text, hash_header=offered)


def _signed_fields(text: bytes) -> tuple[tuple[str, str], ...] | None:
    """The (name, value) pairs of a sign-header, prefix removed; None unless all are text."""
    try:
        decoded = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
        return None
    prefix = HEADER_PREFIX.lower()
    return tuple(
        (key[len(prefix) :] if key.lower().startswith(prefix) else key, value)
        for key, value in decoded.items()
    )


def _check_sent_as_signed(
    headers: dict[str, list[bytes]], signed: tuple[tuple[str, str], ...]
) -> None:
    """Each header the signature names carries a signed value (both, for docId/docid)."""
    allowed: dict[str, set[str]] = {}
    for name, value in signed:
        allowed.setdefault(name.lower(), set()).add(value)
    for name, values in allowed.items():
        sent = headers.get(f"{HEADER_PREFIX}{name}".lower())
        if not sent:
            raise UnauthorizedError(
                f"header {HEADER_PREFIX}{name} is signed but not sent", code="vxp.unsent-header"
            )
        if any(_text(value) not in values for value in sent):
            raise UnauthorizedError(
                f"header {HEADER_PREFIX}{name} differs from its signed value",
                code="vxp.altered-header",
            )


def matching_secret(call: SignedCall, secrets: Sequence[tuple[_Key, str]]) -> _Key | None:
    """The key of the first secret under which the call's HMAC verifies; None if none does."""
    offered = call.hash_header
    if not offered.isascii():
        return None
    for key, secret in secrets:
        if hmac.compare_digest(hmac_hex(secret, call.sign_header), offered):
            return key
    return None


def check_clock(call: SignedCall, now: dt.datetime, max_skew: float | None) -> None:
    """Refuse a signed timestamp further than ``max_skew`` seconds from ``now`` (None: any).

    Raises:
        UnauthorizedError: ``vxp.timestamp-expired``, or an unreadable timestamp.
    """
    if max_skew is None:
        return
    stamp = call.param(Param.TIMESTAMP)
    moment = parse_timestamp(stamp) if stamp else None
    if moment is None:
        raise UnauthorizedError(
            f"the signed timestamp {stamp!r} is unreadable (ddMMyyyyTHHmmss+SSSS)",
            code="vxp.timestamp-expired",
        )
    skew = abs((now - moment).total_seconds())
    if skew > max_skew:
        raise UnauthorizedError(
            f"the signed timestamp {stamp} is {skew:.0f} s away from the hub's clock (at most "
            f"{max_skew:.0f} s, LIENTHONG_VXP_MAX_CLOCK_SKEW)",
            code="vxp.timestamp-expired",
        )
