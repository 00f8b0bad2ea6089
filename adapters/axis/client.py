"""A client of the national axis (VXP): send packets, poll for packets, acknowledge them.

The node is polled, never pushes (DOMAIN.md §7). Each call is one signed HTTP request that
reads on the wire as the official SDK's (:mod:`adapters.axis.protocol` holds the wire and
:class:`~adapters.axis.protocol.ProtocolOptions` the choices; docs/vxp-sdk.md). A FAIL whose
error code is not known to mean a refusal is transient. Inside one call, tenacity repeats a
request a few times, quickly, when the node could not be reached or answered 5xx — for
``sendEdoc`` only when the packet surely did not arrive (connection refused, pool timeout,
503), so a slow answer never turns into a duplicate. What remains is raised as an
:mod:`hub.axis.errors` type that says whether retrying later can help; the hub's own
schedule (delay queues) does the retrying later.

One :class:`httpx.Client` per :class:`AxisClient` pools the connections; it is thread-safe,
so one client serves every worker thread of a process. Nothing connects before the first call.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Literal, Self, get_args

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from adapters.axis.protocol import (
    Answer,
    Operation,
    Param,
    ProtocolOptions,
    content_hash,
    content_type,
    format_timestamp,
    read_agencies,
    read_answer,
    read_content,
    read_received,
    read_sent,
    recipients_header,
    request_body,
    signed_headers,
)
from hub.axis.errors import (
    AxisAuthError,
    AxisBusyError,
    AxisError,
    AxisProtocolError,
    AxisRefusedError,
    AxisTransientError,
    AxisUnavailableError,
    AxisUnknownFailureError,
)
from hub.axis.models import (
    AckStatus,
    AxisAgency,
    MessageType,
    ReceivedItem,
    SendResult,
    SentItem,
)

__all__ = ["AxisClient", "AxisConfig", "parse_retry_after"]

_log = structlog.get_logger(__name__)
_SNIPPET_CHARS = 200
_BUSY_HTTP = frozenset({408, 425, 429})
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
"""Small signed requests go out at once instead of waiting on the peer's delayed ACK."""
_POLLS = frozenset({Operation.GET_RECEIVED_EDOC_LIST, Operation.GET_SENT_EDOC_LIST})
_JSON_OBJECT_BODY = frozenset({Operation.GET_EDOC, Operation.UPDATE_STATUS})


class AxisConfig(BaseModel):
    """How to reach one system's account at an axis node (one ``systemId`` and its secret)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["vxp"] = "vxp"
    url: str
    """The node's base URL; operations are under it (``{url}/sendEdoc``)."""
    system_id: str = Field(min_length=1)
    secret: SecretStr
    organ_id: str | None = None
    """The agency code sent as ``from`` when a call names no sender."""
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    """Also the write timeout: packets of tens of MB are normal."""
    pool_timeout: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=10, ge=1)
    http_attempts: int = Field(default=3, ge=1, le=10)
    """Tries of one request inside one call (1 = no retry inside the call)."""
    retry_initial: float = Field(default=0.2, ge=0)
    retry_max: float = Field(default=2.0, ge=0)
    """Longest wait between tries inside a call; a longer Retry-After ends the call."""
    verify_tls: bool = True
    ca_bundle: str | None = None
    """A PEM file of the authorities to trust instead of the system's."""
    options: ProtocolOptions = ProtocolOptions()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"the axis node URL {value!r} is not a URL: {exc}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(
                f"the axis node URL must be http(s)://host[:port][/path], not {value!r}"
            )
        return url


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date); None if absent."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _decode_json(content: bytes) -> Any:
    """The JSON value of an answer body, or None when it is not JSON."""
    try:
        return json.loads(content.removeprefix(b"\xef\xbb\xbf"))
    except (ValueError, UnicodeDecodeError):
        return None


def _snippet(content: bytes) -> str:
    text = content[: _SNIPPET_CHARS * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text[:_SNIPPET_CHARS] + ("…" if len(text) > _SNIPPET_CHARS else "")


class AxisClient:
    """The calls of DOMAIN.md §7 for one system of one axis node.

    Every method raises :class:`~hub.axis.errors.AxisTransientError` or
    :class:`~hub.axis.errors.AxisPermanentError` (never an httpx error), and ValueError
    for arguments no axis could take.
    """

    def __init__(
        self,
        config: AxisConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._options = config.options
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._sleep = sleep
        verify: bool | ssl.SSLContext = (
            ssl.create_default_context(cafile=config.ca_bundle)
            if config.ca_bundle
            else config.verify_tls
        )
        limits = httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
        )
        if transport is None:
            transport = httpx.HTTPTransport(
                verify=verify, limits=limits, socket_options=_SOCKET_OPTIONS
            )
        self._http = httpx.Client(
            base_url=config.url,
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.read_timeout,
                pool=config.pool_timeout,
            ),
            follow_redirects=False,
            transport=transport,
        )
        self._backoff = wait_exponential(
            multiplier=config.retry_initial, max=config.retry_max
        ) + wait_random(0, config.retry_initial)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- operations -----------------------------------------------------------------------

    def send_edoc(
        self,
        data: bytes,
        *,
        message_type: MessageType,
        to: Sequence[str] | None = None,
        sender: str | None = None,
    ) -> SendResult:
        """Hand a packet (the exact ``.edxml`` bytes) to the axis; its transaction id back.

        ``to`` names the recipients when they should not be read from the packet (an empty
        list is the same as None); ``sender`` is the ``from`` agency (default: the config's
        ``organ_id``).
        """
        _check_message_type(message_type)
        sender = sender or self.config.organ_id
        if not sender:
            raise ValueError("send_edoc needs a sender: pass sender= or set organ_id")
        params = {Param.FROM.value: sender}
        if to:
            params[Param.TO.value] = recipients_header(to)
        params |= {
            Param.SERVICE_TYPE.value: self._options.service_type,
            Param.MESSAGE_TYPE.value: message_type,
            Param.HASH_FILE.value: content_hash(data, self._options.hash_file_form),
        }
        answer = self._call(Operation.SEND_EDOC, params, data)
        if answer.doc_id is None:
            raise AxisProtocolError(
                "the national axis accepted sendEdoc but its answer carries no DocId",
                operation=Operation.SEND_EDOC.value,
            )
        return SendResult(doc_id=answer.doc_id)

    def get_received_edoc_list(self, message_type: MessageType) -> list[ReceivedItem]:
        """The packets of ``message_type`` waiting for this system."""
        _check_message_type(message_type)
        params = {
            Param.SERVICE_TYPE.value: self._options.service_type,
            Param.MESSAGE_TYPE.value: message_type,
        }
        answer = self._call(Operation.GET_RECEIVED_EDOC_LIST, params)
        return read_received(answer.data, message_type=message_type)

    def get_edoc(self, doc_id: str) -> bytes:
        """The bytes of one waiting packet, exactly as its sender handed them over."""
        answer = self._call(Operation.GET_EDOC, {Param.DOC_ID.value: _required(doc_id)})
        try:
            return read_content(answer.data)
        except ValueError as exc:
            raise AxisProtocolError(
                f"the national axis answered getEdoc for {doc_id} without a usable packet: {exc}",
                operation=Operation.GET_EDOC.value,
            ) from exc

    def update_status(self, doc_id: str, status: AckStatus) -> None:
        """Acknowledge a downloaded packet: ``done`` (stored), ``fail`` or ``processing``."""
        if status not in get_args(AckStatus):
            raise ValueError(f"status must be done, fail or processing, not {status!r}")
        params = {Param.DOC_ID.value: _required(doc_id), Param.STATUS.value: status}
        self._call(Operation.UPDATE_STATUS, params)

    def get_sent_edoc_list(self, message_type: MessageType | None = None) -> list[SentItem]:
        """What this system has sent (of ``message_type``, or everything)."""
        params = {Param.SERVICE_TYPE.value: self._options.service_type}
        if message_type is not None:
            _check_message_type(message_type)
            params[Param.MESSAGE_TYPE.value] = message_type
        answer = self._call(Operation.GET_SENT_EDOC_LIST, params)
        return read_sent(answer.data)

    def get_agencies_list(self) -> list[AxisAgency]:
        """The agencies reachable through the axis."""
        return read_agencies(self._call(Operation.GET_AGENCIES_LIST, {}).data)

    # -- one call -------------------------------------------------------------------------

    def _call(self, operation: Operation, params: dict[str, str], content: bytes = b"") -> Answer:
        idempotent = operation is not Operation.SEND_EDOC
        retrying = Retrying(
            stop=stop_after_attempt(self.config.http_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._retry_inside(exc, idempotent)),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(self._once, operation, params, content)

    def _retry_inside(self, exc: BaseException, idempotent: bool) -> bool:
        if not isinstance(exc, AxisUnavailableError):
            return False
        if exc.delay is not None and exc.delay > self.config.retry_max:
            return False
        return idempotent or not exc.may_have_arrived

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        asked = exc.delay if isinstance(exc, AxisTransientError) and exc.delay else 0.0
        return max(asked, self._backoff(state))

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, AxisError):
            _log.info(
                "axis.retry",
                operation=exc.operation,
                attempt=state.attempt_number,
                error=exc.code,
                http_status=exc.http_status,
            )

    def _once(self, operation: Operation, params: dict[str, str], content: bytes) -> Answer:
        timestamp = format_timestamp(self._clock(), self._options.timestamp_style)
        media_type = content_type(operation)
        headers = signed_headers(
            {**params, Param.CONTENT_TYPE.value: media_type},
            system_id=self.config.system_id,
            secret=self.config.secret.get_secret_value(),
            timestamp=timestamp,
            options=self._options,
        )
        headers["Content-Type"] = media_type
        headers["User-Agent"] = self._options.user_agent
        if self._options.sdk_version is not None:
            headers[self._options.header(Param.VERSION)] = self._options.sdk_version
        if self._options.expect_continue and operation in _JSON_OBJECT_BODY:
            headers["Expect"] = "100-continue"
        body = request_body(operation, content, self._options)
        started = time.perf_counter()
        try:
            response = self._post(operation, headers, body)
            answer = self._judge(operation, response)
        except AxisError as exc:
            _log.warning(
                "axis.call",
                operation=operation.value,
                http_status=exc.http_status,
                elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
                error=exc.code,
                error_code=exc.error_code,
            )
            raise
        (_log.debug if operation in _POLLS else _log.info)(
            "axis.call",
            operation=operation.value,
            http_status=response.status_code,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            doc_id=answer.doc_id or params.get(Param.DOC_ID.value),
        )
        return answer

    def _post(
        self, operation: Operation, headers: dict[str, str], content: bytes
    ) -> httpx.Response:
        """The node's response; httpx's failures become axis errors here."""
        try:
            return self._http.post(self._options.path(operation), content=content, headers=headers)
        except httpx.TimeoutException as exc:
            surely_not_sent = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise AxisUnavailableError(
                f"the national axis did not answer {operation} in time ({type(exc).__name__})",
                operation=operation.value,
                may_have_arrived=not surely_not_sent,
            ) from exc
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise AxisUnavailableError(
                f"the national axis could not be reached for {operation}: {reason}",
                operation=operation.value,
                may_have_arrived=not isinstance(exc, httpx.ConnectError),
            ) from exc
        except httpx.HTTPError as exc:
            raise AxisProtocolError(
                f"the national axis answered {operation} unreadably: {exc}",
                operation=operation.value,
            ) from exc

    def _judge(self, operation: Operation, response: httpx.Response) -> Answer:
        """The answer of a 2xx OK; otherwise the error that classifies the failure."""
        status = response.status_code
        delay = parse_retry_after(response.headers.get("Retry-After"))
        if delay is not None:
            delay = min(delay, self._options.max_retry_after)
        payload = _decode_json(response.content)
        answer = (
            read_answer(payload, http_ok=200 <= status < 300, options=self._options)
            if payload is not None
            else None
        )
        if 200 <= status < 300 and answer is not None and answer.ok:
            return answer
        code = answer.error_code if answer else None
        desc = answer.error_desc if answer else None
        said = f"{code} — {desc}" if code or desc else _snippet(response.content) or "no details"
        facts: dict[str, Any] = {
            "operation": operation.value,
            "error_code": code,
            "error_desc": desc,
            "http_status": status,
        }
        verdict = self._options.classify(code) if answer is not None and not answer.ok else None
        if status >= 500:
            raise AxisUnavailableError(
                f"the national axis failed {operation} (HTTP {status}): {said}",
                delay=delay,
                may_have_arrived=status != 503,
                **facts,
            )
        if status in _BUSY_HTTP or verdict == "busy":
            raise AxisBusyError(
                f"the national axis asks to slow down on {operation} (HTTP {status}): {said}",
                delay=delay,
                **facts,
            )
        if status in (401, 403) or verdict == "auth":
            raise AxisAuthError(
                f"the national axis refused the credentials of system {self.config.system_id!r} "
                f"on {operation} (HTTP {status}): {said}",
                **facts,
            )
        if 300 <= status < 400:
            where = response.headers.get("Location", "elsewhere")
            raise AxisRefusedError(
                f"the national axis redirected {operation} to {where}: check the node URL",
                **facts,
            )
        if status >= 400 or verdict == "refused":
            raise AxisRefusedError(
                f"the national axis refused {operation} (HTTP {status}): {said}", **facts
            )
        if answer is not None:
            raise AxisUnknownFailureError(
                f"the national axis answered {operation} with FAIL and an error code of unknown "
                f"meaning (HTTP {status}): {said}; retried until the code is known to refuse",
                delay=delay,
                **facts,
            )
        raise AxisProtocolError(
            f"the national axis answered {operation} (HTTP {status}) with something that is not "
            f"JSON: {said}",
            **facts,
        )


def _check_message_type(message_type: str) -> None:
    if message_type not in get_args(MessageType):
        raise ValueError(f"message_type must be edoc or status, not {message_type!r}")


def _required(doc_id: str) -> str:
    if not doc_id or not doc_id.strip():
        raise ValueError("a docId is required")
    return doc_id.strip()
