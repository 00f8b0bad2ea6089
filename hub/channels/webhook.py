"""The ``webhook`` channel: each packet pushed to the agency's HTTPS endpoint.

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

Outcome: 2xx delivered; 408, 425, 429, 5xx, timeouts and connection failures are
transient (a ``Retry-After`` header sets the delay); redirects and other 4xx are permanent
(the status and the start of the answer are recorded). The circuit-breaker key is the
endpoint's origin, so agencies on one host share a breaker.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from hub.channels.base import DeliveryJob, HandOver, delivery_headers
from hub.db.models import DeliveryState
from hub.errors import PermanentDeliveryError, TransientDeliveryError

if TYPE_CHECKING:
    from hub.channels.registry import ChannelResources

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookHandler",
    "body_chunks",
    "build",
    "classify_status",
    "http_failures",
    "origin",
    "parse_retry_after",
    "peer_label",
    "sign",
    "signature_header",
    "verify_signature",
    "webhook_secrets",
]

_SNIPPET_BYTES = 300
_DRAIN_BYTES = 64 * 1024
"""Answers up to this size are read to the end, so the connection can be reused."""
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


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


def origin(url: str) -> str | None:
    """``scheme://host:port`` of an endpoint (a peer's circuit-breaker key); None if unusable."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.scheme}://{parsed.host}:{port}"


def build(resources: ChannelResources) -> WebhookHandler:
    """The channel's handler, on the worker's shared HTTP client."""
    return WebhookHandler(resources.http)


def peer_label(recipient: str, settings: Mapping[str, Any]) -> str:
    """The peer an operator sees: the endpoint's origin (the breaker key)."""
    url = settings.get("url")
    return (origin(url) if isinstance(url, str) else None) or f"webhook:{recipient}"


def webhook_secrets(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The agency's signing secrets, first one first (``secret``: a string or a list).

    Raises:
        PermanentDeliveryError: the setting is neither a string nor a list of strings.
    """
    value = settings.get("secret")
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
        return tuple(value)
    raise PermanentDeliveryError(
        "channel setting 'secret' must be a string or a list of strings",
        code="delivery.webhook_settings",
    )


def classify_status(
    status: int, *, retry_after: float | None, snippet: str, location: str | None = None
) -> None:
    """Return on 2xx; raise the error a webhook's answer amounts to otherwise.

    Raises:
        TransientDeliveryError: 408, 425, 429 or 5xx (with the delay of ``Retry-After``).
        PermanentDeliveryError: a redirect, another 4xx, or anything else.
    """
    if 200 <= status < 300:
        return
    if status in _TRANSIENT_STATUSES or 500 <= status < 600:
        raise TransientDeliveryError(
            f"webhook answered {status}" + (f": {snippet}" if snippet else ""),
            delay=retry_after,
            code="delivery.webhook_status",
            http_status=status,
        )
    if 300 <= status < 400:
        raise PermanentDeliveryError(
            f"webhook answered a redirect ({status}) to {location or 'nowhere'}; the hub does "
            "not follow redirects: put the final URL in the agency's channel settings",
            code="delivery.webhook_redirect",
            http_status=status,
        )
    raise PermanentDeliveryError(
        f"webhook refused the packet with {status}" + (f": {snippet}" if snippet else ""),
        code="delivery.webhook_refused",
        http_status=status,
    )


class WebhookHandler:
    """Pushes packets to agencies' webhooks; the breaker key is the endpoint's origin."""

    needs_payload = True

    def __init__(self, client: httpx.Client, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._clock = clock

    def peer(self, job: DeliveryJob) -> str | None:
        try:
            return origin(self._url(job))
        except PermanentDeliveryError:
            return None

    @staticmethod
    def _url(job: DeliveryJob) -> str:
        url = job.settings.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PermanentDeliveryError(
                f"agency {job.recipient} has no webhook URL (channel setting 'url', "
                f"http:// or https://): {url!r}",
                code="delivery.webhook_settings",
            )
        return url

    def deliver(self, job: DeliveryJob, payload: bytes) -> HandOver:
        url = self._url(job)
        timestamp = str(int(self._clock()))
        headers = delivery_headers(job, int(timestamp))
        headers["Content-Type"] = "application/xml"
        secrets = webhook_secrets(job.settings)
        if secrets:
            headers[SIGNATURE_HEADER] = signature_header(secrets, timestamp, payload)
        headers["Content-Length"] = str(len(payload))
        with (
            http_failures("webhook", url, "delivery.webhook"),
            self._client.stream(
                "POST", url, content=body_chunks(payload), headers=headers
            ) as response,
        ):
            snippet = _snippet(response)
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            location = response.headers.get("Location")
        classify_status(status, retry_after=retry_after, snippet=snippet, location=location)
        return HandOver(DeliveryState.DELIVERED, http_status=status)

    def close(self) -> None:
        return None


def _snippet(response: httpx.Response) -> str:
    """The start of the answer, as one line; the rest is read (up to a limit) and dropped."""
    start = b""
    read = 0
    for chunk in response.iter_bytes():
        if len(start) < _SNIPPET_BYTES:
            start += chunk[: _SNIPPET_BYTES - len(start)]
        read += len(chunk)
        if read > _DRAIN_BYTES:
            break
    if 200 <= response.status_code < 300:
        return ""
    return " ".join(start.decode("utf-8", errors="replace").split())


@contextmanager
def http_failures(what: str, url: str, code: str) -> Iterator[None]:
    """HTTP client failures of a push to ``url`` as delivery errors ``<code>_…``: timeouts
    and unreachable peers are transient, an unusable URL is permanent."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError(
            f"{what} {url} timed out ({type(exc).__name__})", code=f"{code}_timeout"
        ) from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise PermanentDeliveryError(
            f"{what} URL {url} cannot be used: {exc}", code=f"{code}_settings"
        ) from exc
    except httpx.HTTPError as exc:
        raise TransientDeliveryError(
            f"{what} {url} unreachable: {type(exc).__name__}: {exc}", code=f"{code}_unreachable"
        ) from exc
