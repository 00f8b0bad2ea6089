"""The webhook protocol: the raw packet POSTed to an endpoint, signed with HMAC.

Request: ``POST <channel_settings.url>``, body = the packet bytes exactly as received,
``Content-Type: application/xml``, and the headers ``X-Lienthong-Delivery-Id`` (stable across
retries: deduplicate on it), ``X-Lienthong-Packet-Id``, ``X-Lienthong-Kind`` (``edoc`` or
``status``), ``X-Lienthong-Attempt``, ``X-Lienthong-Timestamp`` (Unix seconds) and
``X-Lienthong-Signature``.

Signature: for each secret of the agency (``channel_settings.secret``, a string or a list),
``sha256=`` followed by the lowercase hex HMAC-SHA256, under the secret (UTF-8), of the bytes
``<timestamp>.<body>`` — the timestamp header's text, one ``.``, then the body. Several
signatures are separated by commas, in the order of the secrets, so a secret is rotated
without downtime: list the new secret first and the old one second, let the agency switch to
the new one, then drop the old one. A receiver accepts the request when any signature matches
any secret it holds, and should refuse timestamps more than a few minutes old. Without a
secret no signature header is sent.

What an answer means for the delivery is the ``webhook`` channel's (:mod:`hub.channels.webhook`).
One ``httpx.Client`` per worker process pools the connections; redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = [
    "SIGNATURE_HEADER",
    "body_chunks",
    "make_http_client",
    "origin",
    "parse_retry_after",
    "sign",
    "signature_header",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Lienthong-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b".", hashlib.sha256)
    mac.update(body)  # fed apart: joining would copy a large body
    return mac.hexdigest()


_CHUNK = 1 << 16


def body_chunks(payload: bytes) -> Iterator[bytes]:
    """The body in 64 KiB pieces: handed over whole, the HTTP stack would copy it while
    framing it, doubling a large packet's footprint."""
    view = memoryview(payload)
    for start in range(0, len(view), _CHUNK):
        yield bytes(view[start : start + _CHUNK])


def signature_header(secrets: Sequence[str], timestamp: str, body: bytes) -> str:
    """The ``X-Lienthong-Signature`` value: one ``sha256=<hex>`` per secret, comma-separated."""
    return ",".join(f"sha256={sign(secret, timestamp, body)}" for secret in secrets)


def verify_signature(header: str, secrets: Sequence[str], timestamp: str, body: bytes) -> bool:
    """Whether any signature of ``header`` was made with any of ``secrets`` (receiver side)."""
    offered = [
        part.strip().removeprefix("sha256=")
        for part in header.split(",")
        if part.strip().startswith("sha256=")
    ]
    expected = [sign(secret, timestamp, body) for secret in secrets]
    return any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in offered)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date), if readable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def make_http_client(
    *,
    connect_timeout: float,
    read_timeout: float,
    max_connections: int,
    tls: ssl.SSLContext | None = None,
) -> httpx.Client:
    """The pooled HTTP client a worker process shares between its threads; ``tls`` (the
    authorities to trust, the hub's client certificate) replaces the system's defaults."""
    return httpx.Client(
        verify=tls if tls is not None else True,
        timeout=httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        ),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
        headers={"User-Agent": "lienthong-hub"},
    )


def origin(url: str) -> str | None:
    """``scheme://host:port`` of an endpoint (a peer's circuit-breaker key); None if unusable."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.scheme}://{parsed.host}:{port}"
