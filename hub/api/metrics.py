"""Prometheus metrics of the API process, in a registry of its own (no global state).

Counters and the latency histogram are updated as requests are served; the deliveries gauge
is computed from the database on each scrape by one grouped count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.db.models import DeliveryState
from hub.errors import StorageError

__all__ = ["ApiMetrics", "DeliveryCounter"]

DeliveryCounter = Callable[[], Mapping[str, int]]
"""Returns the number of deliveries in each state."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_log = structlog.get_logger(__name__)


class _DeliveriesByState(Collector):
    def __init__(self, count: DeliveryCounter) -> None:
        self._count = count

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        try:
            counts = self._count()
        except StorageError as exc:
            _log.warning("metrics.deliveries_unavailable", error=exc.message)
            return
        family = self._family()
        for state in DeliveryState:
            family.add_metric([state.value], counts.get(state.value, 0))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "lienthong_deliveries",
            "Deliveries in each transport state, counted in the database at scrape time.",
            labels=["state"],
        )


class ApiMetrics:
    """The metrics one API app exposes at ``/metrics``."""

    def __init__(self, count_deliveries: DeliveryCounter) -> None:
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
        self.registry.register(_DeliveriesByState(count_deliveries))
