"""Prometheus metrics of the API process, in a registry of its own (no global state).

Counters and the latency histogram are updated as requests are served; the gauges (deliveries
per state, the outbox backlog, recent attempts, the axis loops, the broker's queue depths) are
read on each scrape (:mod:`hub.tracking.gauges`, :func:`adapters.amqp.queue_depths`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.db.models import DeliveryState
from hub.errors import BrokerError, StorageError
from hub.tracking.gauges import RECENT_WINDOW, HubGauges

__all__ = ["ApiMetrics", "DepthReader", "GaugeReader"]

GaugeReader = Callable[[], HubGauges]
"""Reads the database-side gauges (raises StorageError when it cannot)."""
DepthReader = Callable[[], Mapping[str, int]]
"""Reads the messages in each of the hub's queues (raises BrokerError when it cannot)."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_log = structlog.get_logger(__name__)


class _HubGauges(Collector):
    """The gauges read at scrape time: the database's, then the broker's queue depths."""

    def __init__(self, read: GaugeReader, depths: DepthReader | None) -> None:
        self._read = read
        self._depths = depths

    def describe(self) -> Iterator[Metric]:
        yield from self._database_families(None)
        if self._depths is not None:
            yield from self._broker_families(None)

    def collect(self) -> Iterator[Metric]:
        try:
            gauges = self._read()
        except StorageError as exc:
            _log.warning("metrics.database_unavailable", error=exc.message)
        else:
            yield from self._database_families(gauges)
        if self._depths is not None:
            try:
                depths: Mapping[str, int] | None = self._depths()
            except BrokerError as exc:
                _log.warning("metrics.broker_unavailable", error=exc.message)
                depths = None
            yield from self._broker_families(depths)

    @staticmethod
    def _database_families(gauges: HubGauges | None) -> Iterator[Metric]:
        deliveries = GaugeMetricFamily(
            "lienthong_deliveries",
            "Deliveries in each transport state, counted in the database at scrape time.",
            labels=["state"],
        )
        unpublished = GaugeMetricFamily(
            "lienthong_outbox_unpublished",
            "Outbox rows the relay has not yet published (deliveries waiting for the broker).",
        )
        oldest = GaugeMetricFamily(
            "lienthong_outbox_oldest_unpublished_seconds",
            "Age of the oldest unpublished outbox row; growing means the relay is down or behind.",
        )
        attempts = GaugeMetricFamily(
            "lienthong_recent_delivery_attempts",
            f"Delivery attempts started in the last {RECENT_WINDOW.seconds // 60} minutes, "
            "by outcome (delivered, available, transient, permanent, breaker-open, …).",
            labels=["outcome"],
        )
        backlog = GaugeMetricFamily(
            "lienthong_axis_backlog",
            "Items the last round of an axis receive loop left for the next one.",
            labels=["upstream", "kind"],
        )
        since_poll = GaugeMetricFamily(
            "lienthong_axis_seconds_since_poll",
            "Seconds since an axis receive loop last ran a round.",
            labels=["upstream", "kind"],
        )
        since_success = GaugeMetricFamily(
            "lienthong_axis_seconds_since_success",
            "Seconds since an axis receive loop last read its list (absent if it never did).",
            labels=["upstream", "kind"],
        )
        if gauges is not None:
            for state in DeliveryState:
                deliveries.add_metric([state.value], gauges.deliveries.get(state.value, 0))
            unpublished.add_metric([], gauges.outbox_unpublished)
            oldest.add_metric([], gauges.outbox_oldest_seconds)
            for outcome, count in sorted(gauges.recent_attempts.items()):
                attempts.add_metric([outcome], count)
            for loop in gauges.axis:
                labels = [loop.upstream, loop.kind]
                backlog.add_metric(labels, loop.backlog)
                since_poll.add_metric(labels, loop.since_poll)
                if loop.since_success is not None:
                    since_success.add_metric(labels, loop.since_success)
        yield from (deliveries, unpublished, oldest, attempts, backlog, since_poll, since_success)

    @staticmethod
    def _broker_families(depths: Mapping[str, int] | None) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "lienthong_broker_up", "1 when the broker answered this scrape's queue queries."
        )
        messages = GaugeMetricFamily(
            "lienthong_queue_messages",
            "Messages ready in each of the hub's queues (work, retry tiers, parking).",
            labels=["queue"],
        )
        up.add_metric([], 0 if depths is None else 1)
        for name, count in sorted((depths or {}).items()):
            messages.add_metric([name], count)
        yield from (up, messages)


class ApiMetrics:
    """The metrics one API app exposes at ``/metrics``."""

    def __init__(self, read_gauges: GaugeReader, queue_depths: DepthReader | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.packets_accepted = Counter(
            "lienthong_packets_accepted",
            "Packets accepted by ingest (repeats of identical packets not counted).",
            ["kind"],
            registry=self.registry,
        )
        self.ingest_rejections = Counter(
            "lienthong_ingest_rejections",
            "Packets refused by ingest, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.ingest_latency = Histogram(
            "lienthong_ingest_duration_seconds",
            "Time to answer POST /api/v1/packets, body upload included.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.vxp_calls = Counter(
            "lienthong_vxp_calls",
            "Calls to the VXP endpoint (/vxp/), by operation and the ErrorCode answered (0: OK).",
            ["operation", "error_code"],
            registry=self.registry,
        )
        self.registry.register(_HubGauges(read_gauges, queue_depths))
