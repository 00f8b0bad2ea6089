"""RabbitMQ through pika: the broker contract of :mod:`hub.transport.broker` implemented.

Conventions: one connection per thread, never shared; publisher confirms and ``mandatory`` on
every publish (an unroutable message is an error, not silence); heartbeats; connecting retries
with jittered exponential backoff for at most ``reconnect_timeout`` seconds (tenacity) and
declares the whole topology every time. pika's exceptions become the hub's
:class:`~hub.errors.BrokerError` tree here; no pika type leaves this module.

A cluster is given as one URL per node, separated by commas (:class:`BrokerNodes`): a
connection goes to the first node that answers, in the order given, and stays there; when it
is lost, the next connection waits a random moment (so the processes that lost the node do not
all come back at once) and starts from the following node, trying each in turn. Quorum
queues, exchanges and bindings are the cluster's, so any node serves the same topology.

- :class:`BrokerConnection`: a blocking connection for one thread (a delivery worker): a
  consuming channel, a confirming publishing channel, and I/O pumping so that heartbeats keep
  flowing while an attempt runs elsewhere.
- :class:`WindowedPublisher`: asynchronous confirms for the relay: up to ``window`` messages
  are in flight ahead of their confirms, on a ``SelectConnection`` driven from the caller's
  thread (the same loop pika's own blocking adapter runs).

:class:`BrokerConnection` also serves the ``amqp`` delivery channel (:mod:`hub.channels.amqp`):
agencies' own queues, declared on first use.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Generator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.channel
import pika.exceptions
import structlog
import tenacity
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.adapters.select_connection import IOLoop, SelectConnection
from pika.frame import Method
from pika.spec import Basic, BasicProperties

from hub.errors import (
    BrokerError,
    BrokerUnavailableError,
    ConfigurationError,
    TopologyError,
    UnroutableError,
)
from hub.transport.messages import IncomingMessage, OutgoingMessage, PublishResult
from hub.transport.topology import Topology

__all__ = [
    "BrokerConnection",
    "BrokerNodes",
    "WindowedPublisher",
    "connection_parameters",
    "declare_topology",
    "queue_depths",
    "redacted_amqp_url",
]

_log = structlog.get_logger(__name__)

_BLOCKED_CONNECTION_TIMEOUT = 60.0
"""Seconds a connection may stay blocked by a broker alarm before it counts as lost."""
_FIRST_BACKOFF = 0.2
_LONGEST_BACKOFF = 5.0
_CONNECT_TIMEOUT = 5.0
_LOSS_JITTER = 0.5
"""Longest random pause before reconnecting after a connection was lost."""


def _redacted_one(url: str) -> str:
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        port = parts.port
    except ValueError:
        return "<an unreadable URL>"
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{port}" if port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def redacted_amqp_url(url: str) -> str:
    """The URL (or comma-separated URLs) without passwords, for messages and logs."""
    return ",".join(_redacted_one(part.strip()) for part in url.split(","))


def connection_parameters(
    url: str, *, heartbeat: int, name: str, connect_timeout: float = _CONNECT_TIMEOUT
) -> pika.URLParameters:
    """pika's parameters for one node's ``url`` with the hub's heartbeat, a connection name
    and a bound on the time to connect.

    Raises:
        ConfigurationError: the URL cannot be read.
    """
    try:
        parameters = pika.URLParameters(url)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"LIENTHONG_AMQP_URL is not an AMQP URL ({redacted_amqp_url(url)}): {exc}"
        ) from exc
    parameters.heartbeat = heartbeat
    parameters.connection_attempts = 1
    parameters.socket_timeout = connect_timeout
    parameters.stack_timeout = 2 * connect_timeout
    parameters.blocked_connection_timeout = _BLOCKED_CONNECTION_TIMEOUT
    parameters.client_properties = {"connection_name": name}
    return parameters


class BrokerNodes:
    """The nodes of a broker (one, or each of a cluster's), tried in turn.

    A connection goes to the first node that answers, starting from the one used last; after
    :meth:`lost` the next connection starts from the node after it, once a random pause of
    up to ``jitter`` seconds has passed.
    """

    def __init__(
        self,
        url: str,
        *,
        heartbeat: int = 60,
        name: str = "lienthong",
        connect_timeout: float = _CONNECT_TIMEOUT,
        jitter: float = _LOSS_JITTER,
    ) -> None:
        urls = [part.strip() for part in url.split(",") if part.strip()]
        if not urls:
            raise ConfigurationError("LIENTHONG_AMQP_URL names no broker node")
        self._parameters = [
            connection_parameters(
                one, heartbeat=heartbeat, name=name, connect_timeout=connect_timeout
            )
            for one in urls
        ]
        self._urls = [redacted_amqp_url(one) for one in urls]
        self._start = 0
        self._current: int | None = None
        self._jitter = jitter
        self._after_loss = False

    @property
    def described(self) -> str:
        """Every node's URL, without passwords."""
        return ",".join(self._urls)

    @property
    def current(self) -> str | None:
        """The URL (without password) of the node of the last connection, if any."""
        return None if self._current is None else self._urls[self._current]

    def __len__(self) -> int:
        return len(self._urls)

    def in_turn(self) -> list[tuple[int, pika.URLParameters, str]]:
        """Each node's index, parameters and redacted URL, in the order to try them."""
        count = len(self._urls)
        order = [(self._start + step) % count for step in range(count)]
        return [(index, self._parameters[index], self._urls[index]) for index in order]

    def connected(self, index: int) -> None:
        """Record that node ``index`` took a connection: the next one starts there too."""
        if self._after_loss or self._current != index:
            _log.info("broker.connected", node=self._urls[index], nodes=len(self._urls))
        self._start = self._current = index
        self._after_loss = False

    def lost(self) -> None:
        """Record that the connection to the current node was lost: try the next one first."""
        if self._current is not None and len(self._urls) > 1:
            self._start = (self._current + 1) % len(self._urls)
        self._after_loss = True

    def pause_after_loss(self, stop: threading.Event | None) -> None:
        """A random pause of up to ``jitter`` seconds, only after a loss."""
        if not self._after_loss or self._jitter <= 0:
            return
        seconds = random.uniform(0, self._jitter)  # noqa: S311 - spreading, not secrecy
        if stop is None:
            time.sleep(seconds)
        else:
            stop.wait(seconds)

    def connect(self) -> tuple[BlockingConnection, int]:
        """A blocking connection to the first node that answers, and that node's index.

        Raises:
            BrokerUnavailableError: no node answered.
        """
        failures = []
        for index, parameters, url in self.in_turn():
            try:
                connection = BlockingConnection(parameters)
            except (pika.exceptions.AMQPError, OSError) as exc:
                failures.append(f"{url}: {exc!r}")
                continue
            self.connected(index)
            return connection, index
        raise BrokerUnavailableError("cannot connect to " + "; ".join(failures))

    def parameters(self, index: int) -> pika.URLParameters:
        """The parameters of node ``index``."""
        return self._parameters[index]

    def url(self, index: int) -> str:
        """The URL of node ``index``, without its password."""
        return self._urls[index]


def _translate(exc: BaseException, what: str) -> BrokerError:
    if isinstance(exc, pika.exceptions.UnroutableError):
        return UnroutableError(f"{what}: no queue is bound for it; it was returned")
    if isinstance(exc, pika.exceptions.NackError):
        return BrokerError(f"{what}: the broker refused it (nack)", code="broker.nack")
    if isinstance(exc, pika.exceptions.ChannelClosedByBroker):
        if exc.reply_code in (404, 406):
            return TopologyError(f"{what}: {exc.reply_code} {exc.reply_text}")
        return BrokerError(f"{what}: channel closed by the broker: {exc.reply_text}")
    if isinstance(
        exc,
        pika.exceptions.AMQPConnectionError
        | pika.exceptions.ChannelWrongStateError
        | pika.exceptions.ChannelClosed
        | OSError,
    ):
        return BrokerUnavailableError(f"{what}: connection to the broker lost ({exc!r})")
    return BrokerError(f"{what}: {exc!r}")


def _properties(message: OutgoingMessage) -> BasicProperties:
    return BasicProperties(
        content_type=message.content_type,
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=message.message_id,
        headers=dict(message.headers),
        type=message.type,
        timestamp=int(time.time()),
        expiration=None if message.expiration_ms is None else str(message.expiration_ms),
    )


def declare_topology(channel: BlockingChannel, topology: Topology) -> None:
    """Declare every exchange, fixed queue and binding of ``topology`` (idempotent).

    Raises:
        TopologyError: something exists with other arguments (the channel is closed).
        BrokerUnavailableError: the connection was lost.
    """
    try:
        for exchange in topology.exchanges():
            channel.exchange_declare(exchange.name, exchange.kind, durable=True)
        for queue in topology.queues():
            channel.queue_declare(queue.name, durable=True, arguments=dict(queue.arguments))
        for binding in topology.bindings():
            channel.queue_bind(binding.queue, binding.exchange, binding.routing_key)
    except pika.exceptions.AMQPError as exc:
        error = _translate(exc, f"declaring the topology of prefix {topology.prefix!r}")
        if isinstance(error, TopologyError):
            raise TopologyError(
                f"{error.message}. A queue of this name exists with other arguments (were "
                "LIENTHONG_RETRY_DELAYS/RETRY_JITTER/PARKING_MAX_LENGTH/AMQP_QUORUM_REPLICAS "
                "changed?): drain and "
                "delete it, or use another LIENTHONG_AMQP_PREFIX"
            ) from exc
        raise error from exc


def _retrying(
    reconnect_timeout: float, stop: threading.Event | None, what: str
) -> tenacity.Retrying:
    stop_rule: tenacity.stop.stop_base = tenacity.stop_after_delay(reconnect_timeout)
    if stop is not None:
        stop_rule = stop_rule | tenacity.stop_when_event_set(stop)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        _log.warning(
            "broker.reconnecting",
            what=what,
            attempt=state.attempt_number,
            error=str(error),
            pause=round(state.upcoming_sleep, 2),
        )

    def pause(seconds: float) -> None:
        if stop is None:
            time.sleep(seconds)
        else:
            stop.wait(seconds)

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(BrokerUnavailableError),
        wait=tenacity.wait_random_exponential(multiplier=_FIRST_BACKOFF, max=_LONGEST_BACKOFF),
        stop=stop_rule,
        sleep=pause,
        before_sleep=before_sleep,
        reraise=True,
    )


def _declare_once(nodes: BrokerNodes, topology: Topology) -> int:
    """Declare the topology on the first node that answers; its index."""
    connection, index = nodes.connect()
    try:
        declare_topology(connection.channel(), topology)
    except pika.exceptions.AMQPError as exc:
        nodes.lost()
        raise _translate(exc, f"opening a channel on {nodes.url(index)}") from exc
    finally:
        _close_quietly(connection)
    return index


class BrokerConnection:
    """A blocking connection owned by one thread: consume, publish with confirms, pump I/O."""

    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        heartbeat: int = 60,
        reconnect_timeout: float = 120.0,
        name: str = "lienthong",
        stop: threading.Event | None = None,
        connect_timeout: float = _CONNECT_TIMEOUT,
    ) -> None:
        self._nodes = BrokerNodes(
            url, heartbeat=heartbeat, name=name, connect_timeout=connect_timeout
        )
        self._url = self._nodes.described
        self._topology = topology
        self._reconnect_timeout = reconnect_timeout
        self._stop = stop
        self._connection: BlockingConnection | None = None
        self._publishing: BlockingChannel | None = None
        self._consuming: BlockingChannel | None = None
        self._session = 0
        self._agency_queues: set[str] = set()

    @property
    def is_open(self) -> bool:
        """Whether the connection is up (as far as pika knows)."""
        return self._connection is not None and self._connection.is_open

    def open(self) -> None:
        """Connect, retrying with backoff, and declare the topology.

        Raises:
            BrokerUnavailableError: no connection within the reconnect timeout.
            TopologyError: the broker holds a conflicting queue or exchange.
        """
        self.close()
        self._nodes.pause_after_loss(self._stop)
        for attempt in _retrying(self._reconnect_timeout, self._stop, f"connect {self._url}"):
            with attempt:
                self._open_once()

    @property
    def node(self) -> str | None:
        """The node (URL without password) this connection went to last."""
        return self._nodes.current

    def _open_once(self) -> None:
        connection, index = self._nodes.connect()
        try:
            channel = connection.channel()
            declare_topology(channel, self._topology)
            channel.confirm_delivery()
        except pika.exceptions.AMQPError as exc:
            _close_quietly(connection)
            self._nodes.lost()
            raise _translate(exc, f"opening a channel on {self._nodes.url(index)}") from exc
        except BaseException:
            _close_quietly(connection)
            raise
        self._connection = connection
        self._publishing = channel
        self._session += 1
        self._agency_queues.clear()

    def _require(self) -> BlockingConnection:
        if self._connection is None or not self._connection.is_open:
            self.open()
        assert self._connection is not None
        return self._connection

    def _drop(self) -> None:
        self._nodes.lost()
        self.close()

    def publish(self, message: OutgoingMessage) -> None:
        """Publish and wait for the broker's confirm.

        Raises:
            UnroutableError: no queue is bound for the message.
            BrokerError: the broker refused it, or the connection was lost (then
                :class:`~hub.errors.BrokerUnavailableError`; the next call reconnects).
        """
        self._require()
        assert self._publishing is not None
        try:
            self._publishing.basic_publish(
                message.exchange,
                message.routing_key,
                message.body,
                properties=_properties(message),
                mandatory=True,
            )
        except pika.exceptions.AMQPError as exc:
            error = _translate(exc, f"publishing {message.message_id} to {message.exchange}")
            if not isinstance(error, UnroutableError):
                self._drop()
            raise error from exc

    def ensure_agency_queue(self, code: str) -> str:
        """Declare the queue of an agency on the ``amqp`` channel, once per connection."""
        queue = self._topology.agency_queue(code)
        if queue.name in self._agency_queues:
            return queue.name
        self._require()
        assert self._publishing is not None
        binding = self._topology.agency_binding(code)
        try:
            self._publishing.queue_declare(
                queue.name, durable=True, arguments=dict(queue.arguments)
            )
            self._publishing.queue_bind(binding.queue, binding.exchange, binding.routing_key)
        except pika.exceptions.AMQPError as exc:
            self._drop()
            raise _translate(exc, f"declaring queue {queue.name}") from exc
        self._agency_queues.add(queue.name)
        return queue.name

    def consume(
        self, queue: str, *, prefetch: int, idle: float
    ) -> Generator[IncomingMessage | None, None, None]:
        """Messages of ``queue`` with manual acks; None after each ``idle`` seconds without one.

        Closing the iterator cancels the consumer; unacknowledged messages go back to the queue.

        Raises:
            BrokerUnavailableError: the connection was lost (messages not acknowledged are
                redelivered by the broker).
        """
        connection = self._require()
        session = self._session
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=prefetch)
            self._consuming = channel
            for method, properties, body in channel.consume(queue, inactivity_timeout=idle):
                if method is None or properties is None or body is None:
                    yield None
                    continue
                yield _incoming(method, properties, body, session)
        except pika.exceptions.AMQPError as exc:
            self._drop()
            raise _translate(exc, f"consuming {queue}") from exc
        finally:
            self._cancel_consumer()

    def _cancel_consumer(self) -> None:
        channel, self._consuming = self._consuming, None
        if channel is None or not channel.is_open:
            return
        try:
            channel.cancel()
            channel.close()
        except (pika.exceptions.AMQPError, OSError) as exc:
            _log.debug("broker.cancel_failed", error=repr(exc))

    def ack(self, message: IncomingMessage) -> None:
        """Acknowledge a message taken by :meth:`consume` on this connection.

        Raises:
            BrokerUnavailableError: the channel it came on is gone (the broker redelivers it).
        """
        channel = self._consuming
        if channel is None or message.session != self._session or not channel.is_open:
            raise BrokerUnavailableError(
                "the channel that received the message is closed; the broker redelivers it"
            )
        try:
            channel.basic_ack(message.tag)
        except pika.exceptions.AMQPError as exc:
            self._drop()
            raise _translate(exc, "acknowledging a message") from exc

    def pump(self, seconds: float) -> None:
        """Process broker I/O (heartbeats, confirms) for up to ``seconds``.

        Raises:
            BrokerUnavailableError: the connection was lost.
        """
        connection = self._connection
        if connection is None or not connection.is_open:
            time.sleep(seconds)
            return
        try:
            connection.process_data_events(time_limit=seconds)
        except pika.exceptions.AMQPError as exc:
            self._drop()
            raise _translate(exc, "waiting on the broker connection") from exc

    def close(self) -> None:
        """Close the connection (unacknowledged messages go back to their queue)."""
        connection, self._connection = self._connection, None
        self._publishing = None
        self._consuming = None
        if connection is not None:
            _close_quietly(connection)


def _incoming(
    method: Basic.Deliver, properties: BasicProperties, body: bytes, session: int
) -> IncomingMessage:
    return IncomingMessage(
        body=body,
        tag=method.delivery_tag or 0,
        headers=dict(properties.headers or {}),
        message_id=properties.message_id,
        redelivered=bool(method.redelivered),
        session=session,
    )


def queue_depths(url: str, queues: Sequence[str], *, timeout: float = 2.0) -> dict[str, int]:
    """Messages ready in each of ``queues`` (passive declares on one short connection); a
    queue that does not exist is left out.

    Raises:
        BrokerUnavailableError: the broker cannot be reached within ``timeout`` seconds.
    """
    nodes = BrokerNodes(url, heartbeat=0, name="lienthong-metrics", connect_timeout=timeout)
    for _, parameters, _ in nodes.in_turn():
        parameters.stack_timeout = timeout
        parameters.blocked_connection_timeout = timeout
    connection, _ = nodes.connect()
    depths: dict[str, int] = {}
    try:
        channel = connection.channel()
        for name in queues:
            try:
                frame = channel.queue_declare(name, passive=True)
            except pika.exceptions.ChannelClosedByBroker:
                channel = connection.channel()
                continue
            depths[name] = frame.method.message_count
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise BrokerUnavailableError(
            f"queue depths from {redacted_amqp_url(url)}: {exc!r}"
        ) from exc
    finally:
        _close_quietly(connection)
    return depths


def _close_quietly(connection: BlockingConnection | SelectConnection) -> None:
    try:
        if connection.is_open:
            connection.close()
    except (pika.exceptions.AMQPError, OSError) as exc:
        _log.debug("broker.close_failed", error=repr(exc))


class WindowedPublisher:
    """Publishes batches with asynchronous confirms, at most ``window`` unconfirmed at a time.

    Each call publishes its messages in order and returns, for each, whether the broker
    confirmed it. Confirms are processed as they arrive (``multiple`` acks included), so the
    window slides. A lost connection or ``confirm_timeout`` seconds without progress leaves
    the remaining messages :attr:`~hub.transport.messages.PublishResult.UNCONFIRMED`; the next call
    reconnects (with backoff) and declares the topology again.
    """

    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        window: int = 100,
        confirm_timeout: float = 30.0,
        heartbeat: int = 60,
        reconnect_timeout: float = 120.0,
        name: str = "lienthong-relay",
        stop: threading.Event | None = None,
        connect_timeout: float = _CONNECT_TIMEOUT,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._nodes = BrokerNodes(
            url, heartbeat=heartbeat, name=name, connect_timeout=connect_timeout
        )
        self._url = self._nodes.described
        self._topology = topology
        self._window = window
        self._confirm_timeout = confirm_timeout
        self._reconnect_timeout = reconnect_timeout
        self._stop = stop
        self._ioloop: IOLoop | None = None
        self._connection: SelectConnection | None = None
        self._channel: pika.channel.Channel | None = None
        self._lost: BaseException | None = None
        self._last_tag = 0
        self._pending: dict[int, int] = {}
        self._returned: set[int] = set()
        self._results: list[PublishResult] = []
        self._message_ids: dict[int, str | None] = {}

    @property
    def is_open(self) -> bool:
        """Whether the connection and its confirming channel are up."""
        return self._channel is not None and self._channel.is_open and self._lost is None

    def publish(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        """Publish ``messages`` in order; the result of each, in the same order.

        Called with no message, it only processes pending I/O (heartbeats) of an open connection.

        Raises:
            BrokerUnavailableError: no connection could be made within the reconnect timeout.
            TopologyError: the broker holds a conflicting queue or exchange.
        """
        if not messages:
            if self.is_open:
                self._pump(0)
            return []
        if not self.is_open:
            self.open()
        self._results = [PublishResult.UNCONFIRMED] * len(messages)
        self._pending.clear()
        self._returned.clear()
        self._message_ids.clear()
        following = 0
        progress_at = time.monotonic()
        while self._lost is None:
            while following < len(messages) and len(self._pending) < self._window:
                self._send(following, messages[following])
                following += 1
            if not self._pending:
                break
            settled = len(self._pending)
            self._pump(0.5)
            if len(self._pending) < settled:
                progress_at = time.monotonic()
            elif time.monotonic() - progress_at > self._confirm_timeout:
                _log.warning(
                    "relay.confirm_timeout",
                    node=self._nodes.current,
                    unconfirmed=len(self._pending),
                )
                self._nodes.lost()
                self.close()
                break
        if self._lost is not None:
            self._discard()
        return list(self._results)

    def _send(self, index: int, message: OutgoingMessage) -> None:
        assert self._channel is not None
        self._last_tag += 1
        self._pending[self._last_tag] = index
        self._message_ids[self._last_tag] = message.message_id
        try:
            self._channel.basic_publish(
                message.exchange,
                message.routing_key,
                message.body,
                properties=_properties(message),
                mandatory=True,
            )
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._lost = exc

    def _on_confirm(self, frame: Method[Basic.Ack | Basic.Nack]) -> None:
        method = frame.method
        tag = int(method.delivery_tag)
        tags = [t for t in self._pending if t <= tag] if method.multiple else [tag]
        acked = isinstance(method, Basic.Ack)
        for confirmed in tags:
            index = self._pending.pop(confirmed, None)
            if index is None:
                continue
            if not acked:
                self._results[index] = PublishResult.REFUSED
            elif confirmed in self._returned:
                self._results[index] = PublishResult.UNROUTABLE
            else:
                self._results[index] = PublishResult.CONFIRMED

    def _on_return(
        self,
        channel: pika.channel.Channel,
        method: Basic.Return,
        properties: BasicProperties,
        body: bytes,
    ) -> None:
        for tag in sorted(self._pending):
            if tag not in self._returned and self._message_ids.get(tag) == properties.message_id:
                self._returned.add(tag)
                return

    def open(self) -> None:
        """Connect, retrying with backoff, declare the topology, enable confirms.

        Raises:
            BrokerUnavailableError: no connection within the reconnect timeout.
            TopologyError: the broker holds a conflicting queue or exchange.
        """
        if self._lost is not None:
            self._nodes.lost()
        self.close()
        self._nodes.pause_after_loss(self._stop)
        for attempt in _retrying(self._reconnect_timeout, self._stop, f"connect {self._url}"):
            with attempt:
                self._open_once()

    @property
    def node(self) -> str | None:
        """The node (URL without password) this publisher connected to last."""
        return self._nodes.current

    def _open_once(self) -> None:
        index = _declare_once(self._nodes, self._topology)
        try:
            self._open_on(index)
        except BrokerUnavailableError:
            self._nodes.lost()
            raise

    def _open_on(self, index: int) -> None:
        url = self._nodes.url(index)
        ioloop = IOLoop()
        ioloop.activate_poller()
        self._ioloop = ioloop
        self._lost = None
        state: dict[str, Any] = {}
        try:
            self._connection = SelectConnection(
                self._nodes.parameters(index),
                on_open_callback=lambda _c: state.setdefault("open", True),
                on_open_error_callback=lambda _c, error: state.setdefault("error", error),
                on_close_callback=self._on_connection_closed,
                custom_ioloop=ioloop,
            )
            self._wait_for(lambda: "open" in state or "error" in state, "connecting", url)
            if "error" in state:
                raise BrokerUnavailableError(f"cannot connect to {url}: {state['error']!r}")
            self._connection.channel(on_open_callback=lambda ch: state.setdefault("channel", ch))
            self._wait_for(lambda: "channel" in state, "opening a channel", url)
            channel: pika.channel.Channel = state["channel"]
            channel.add_on_close_callback(self._on_channel_closed)
            channel.add_on_return_callback(self._on_return)
            channel.confirm_delivery(
                self._on_confirm, callback=lambda _f: state.setdefault("confirming", True)
            )
            self._wait_for(lambda: "confirming" in state, "enabling confirms", url)
        except BaseException:
            self.close()
            raise
        self._channel = channel
        self._last_tag = 0

    def _wait_for(self, ready: Callable[[], bool], what: str, url: str) -> None:
        deadline = time.monotonic() + self._confirm_timeout
        while not ready():
            if self._lost is not None:
                raise BrokerUnavailableError(f"{what} on {url}: {self._lost!r}")
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(f"{what} on {url}: timed out")
            self._pump(0.5)

    def _pump(self, seconds: float) -> None:
        ioloop = self._ioloop
        if ioloop is None:
            return
        wake = ioloop.call_later(seconds, lambda: None)
        try:
            ioloop.poll()
            ioloop.process_timeouts()
        finally:
            ioloop.remove_timeout(wake)

    def _on_connection_closed(self, _connection: Any, reason: BaseException) -> None:
        self._lost = reason
        self._channel = None

    def _on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        if self._lost is None:
            self._lost = reason
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _discard(self) -> None:
        _log.warning(
            "relay.connection_lost",
            node=self._nodes.current,
            unconfirmed=len(self._pending),
            reason=repr(self._lost),
        )
        self._nodes.lost()
        self.close()

    def close(self) -> None:
        """Close the connection; messages not yet confirmed stay unconfirmed."""
        connection, self._connection = self._connection, None
        self._channel = None
        if connection is not None and connection.is_open:
            try:
                connection.close()
                deadline = time.monotonic() + 5
                while not connection.is_closed and time.monotonic() < deadline:
                    self._pump(0.2)
            except (pika.exceptions.AMQPError, OSError) as exc:
                _log.debug("broker.close_failed", error=repr(exc))
        ioloop, self._ioloop = self._ioloop, None
        if ioloop is not None:
            ioloop.close()
        self._pending.clear()


def probe_broker(url: str, *, timeout: float) -> None:
    """Open and close one connection to a node of ``url`` (one or several, comma-separated):
    some node answers and accepts the login.

    Raises:
        BrokerUnavailableError: none does within ``timeout`` seconds each; the message names
            every node and says why in a few words (no library traceback).
    """
    nodes = BrokerNodes(url, heartbeat=0, name="lienthong-probe", connect_timeout=timeout)
    reasons = []
    for _, parameters, shown in nodes.in_turn():
        try:
            connection = BlockingConnection(parameters)
        except pika.exceptions.ProbableAuthenticationError:
            reasons.append(f"{shown} refused the login (user or password)")
            continue
        except (pika.exceptions.AMQPError, OSError) as exc:
            reasons.append(f"{shown} does not answer ({_reason(exc)})")
            continue
        _close_quietly(connection)
        return
    raise BrokerUnavailableError("the broker at " + "; ".join(reasons))


def _reason(exc: BaseException) -> str:
    """What went wrong with a connection, in a few words."""
    found: BaseException | None = exc
    while found is not None:
        if isinstance(found, ConnectionRefusedError):
            return "connection refused"
        if isinstance(found, TimeoutError | socket.timeout):
            return "no answer in time"
        if isinstance(found, pika.exceptions.IncompatibleProtocolError):
            return "the connection closed before the AMQP handshake: is it a broker?"
        if isinstance(found, OSError) and found.strerror:
            return found.strerror.lower()
        wrapped = getattr(found, "exception", None)
        if not isinstance(wrapped, BaseException) and found.args:
            wrapped = found.args[0]
        found = wrapped if isinstance(wrapped, BaseException) else found.__cause__
    return type(exc).__name__
