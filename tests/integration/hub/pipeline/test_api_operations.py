"""Health, readiness and Prometheus metrics of the API."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.api import create_app
from hub.db.models import DeliveryState

from . import packets
from .conftest import ApiClient, Hub
from .packets import CITY, DISTRICT, WARD

pytestmark = pytest.mark.integration


def samples(client: ApiClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_healthz_answers_while_the_process_is_up(client: ApiClient) -> None:
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_ready_when_every_dependency_answers(hub: Hub) -> None:
    app = create_app(hub.settings, hub.database, hub.blobs, ready_checks={"broker": lambda: None})

    with ApiClient(app) as client:
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_answers_503_naming_what_is_down(hub: Hub) -> None:
    def broker_down() -> None:
        raise ConnectionRefusedError("connection refused")

    app = create_app(hub.settings, hub.database, hub.blobs, ready_checks={"broker": broker_down})

    with ApiClient(app) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert "connection refused" in body["checks"]["broker"]
    assert body["checks"]["database"] == "ok"


def test_metrics_count_accepted_packets_by_kind(client: ApiClient, hub: Hub) -> None:
    document, raw = packets.document(WARD, (DISTRICT,))
    client.post("/api/v1/packets", content=raw, headers=hub.auth(WARD))
    client.post("/api/v1/packets", content=raw, headers=hub.auth(WARD))
    client.post(
        "/api/v1/packets",
        content=packets.status(document, "01", DISTRICT),
        headers=hub.auth(DISTRICT),
    )

    values = samples(client)

    assert values[("lienthong_packets_accepted_total", (("kind", "edoc"),))] == 1
    assert values[("lienthong_packets_accepted_total", (("kind", "status"),))] == 1


def test_metrics_count_rejections_by_code(client: ApiClient, hub: Hub) -> None:
    client.post("/api/v1/packets", content=b"not xml", headers=hub.auth(WARD))
    client.post("/api/v1/packets", content=packets.document(CITY)[1], headers=hub.auth(WARD))

    values = samples(client)

    assert values[("lienthong_ingest_rejections_total", (("code", "xml.malformed"),))] == 1
    assert values[("lienthong_ingest_rejections_total", (("code", "packet.sender-mismatch"),))] == 1


def test_metrics_report_deliveries_by_state_from_the_database(client: ApiClient, hub: Hub) -> None:
    response = client.post(
        "/api/v1/packets",
        content=packets.document(WARD, (DISTRICT, CITY))[1],
        headers=hub.auth(WARD),
    )
    hub.set_state(response.json()["deliveries"][1]["delivery_id"], DeliveryState.PARKED)

    values = samples(client)

    assert values[("lienthong_deliveries", (("state", "queued"),))] == 1
    assert values[("lienthong_deliveries", (("state", "parked"),))] == 1
    assert values[("lienthong_deliveries", (("state", "delivered"),))] == 0


def test_metrics_time_every_ingest(client: ApiClient, hub: Hub) -> None:
    client.post("/api/v1/packets", content=packets.document()[1], headers=hub.auth(WARD))
    client.post("/api/v1/packets", content=b"<x/>", headers=hub.auth(WARD))

    values = samples(client)

    assert values[("lienthong_ingest_duration_seconds_count", ())] == 2
