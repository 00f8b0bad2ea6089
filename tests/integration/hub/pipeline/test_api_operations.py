"""Health, readiness and Prometheus metrics of the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from structlog.testing import capture_logs

from hub.api.app import create_app
from hub.db.base import utcnow
from hub.db.models import AxisPollState, DeliveryAttempt, DeliveryState, OutboxMessage
from hub.errors import BrokerUnavailableError

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
        raise ConnectionRefusedError("connection refused by broker.internal:5672")

    app = create_app(hub.settings, hub.database, hub.blobs, ready_checks={"broker": broker_down})

    with ApiClient(app) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["broker"] == "unavailable (ConnectionRefusedError)"
    assert body["checks"]["database"] == "ok"


def test_readyz_keeps_the_reason_for_the_log_not_for_the_caller(hub: Hub) -> None:
    def database_down() -> None:
        raise ConnectionRefusedError('connection to server at "db.internal", user "lienthong"')

    app = create_app(hub.settings, hub.database, hub.blobs, ready_checks={"db": database_down})

    with capture_logs() as logs, ApiClient(app) as client:
        response = client.get("/readyz")

    assert "db.internal" not in response.text
    [warning] = [log for log in logs if log["event"] == "api.not_ready"]
    assert "db.internal" in warning["checks"]["db"]


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


def test_metrics_show_the_outbox_the_relay_has_not_published(client: ApiClient, hub: Hub) -> None:
    client.post(
        "/api/v1/packets",
        content=packets.document(WARD, (DISTRICT, CITY))[1],
        headers=hub.auth(WARD),
    )
    waiting = samples(client)
    with hub.database.transaction() as session:
        session.execute(update(OutboxMessage).values(published_at=utcnow()))
    published = samples(client)

    assert waiting[("lienthong_outbox_unpublished", ())] == 2
    assert waiting[("lienthong_outbox_oldest_unpublished_seconds", ())] >= 0
    assert published[("lienthong_outbox_unpublished", ())] == 0
    assert published[("lienthong_outbox_oldest_unpublished_seconds", ())] == 0


def test_metrics_count_the_attempts_of_the_last_minutes_by_outcome(
    client: ApiClient, hub: Hub
) -> None:
    response = client.post(
        "/api/v1/packets", content=packets.document(WARD, (DISTRICT,))[1], headers=hub.auth(WARD)
    )
    delivery_id = response.json()["deliveries"][0]["delivery_id"]
    now = utcnow()
    with hub.database.transaction() as session:
        for number, (outcome, minutes_ago) in enumerate(
            [("transient", 1), ("transient", 2), ("delivered", 3), ("transient", 30)], start=1
        ):
            session.add(
                DeliveryAttempt(
                    delivery_id=delivery_id,
                    number=number,
                    started_at=now - timedelta(minutes=minutes_ago),
                    outcome=outcome,
                )
            )

    values = samples(client)

    assert values[("lienthong_recent_delivery_attempts", (("outcome", "transient"),))] == 2
    assert values[("lienthong_recent_delivery_attempts", (("outcome", "delivered"),))] == 1


def test_metrics_show_each_axis_receive_loop(client: ApiClient, hub: Hub) -> None:
    now = utcnow()
    with hub.database.transaction() as session:
        session.add(
            AxisPollState(
                upstream="vxp",
                kind="edoc",
                last_poll_at=now - timedelta(seconds=40),
                last_success_at=now - timedelta(seconds=100),
                left=7,
            )
        )
        session.add(
            AxisPollState(upstream="vxp", kind="status", last_poll_at=now, last_success_at=None)
        )

    values = samples(client)

    edoc = (("kind", "edoc"), ("upstream", "vxp"))
    assert values[("lienthong_axis_backlog", edoc)] == 7
    assert 40 <= values[("lienthong_axis_seconds_since_poll", edoc)] < 100
    assert values[("lienthong_axis_seconds_since_success", edoc)] >= 100
    never = (("kind", "status"), ("upstream", "vxp"))
    assert ("lienthong_axis_seconds_since_success", never) not in values


def test_metrics_report_the_broker_down_and_keep_the_database_gauges(hub: Hub) -> None:
    def broker_down() -> dict[str, int]:
        raise BrokerUnavailableError("connection refused")

    app = create_app(hub.settings, hub.database, hub.blobs, queue_depths=broker_down)
    with ApiClient(app) as client:
        values = samples(client)

    assert values[("lienthong_broker_up", ())] == 0
    assert not any(name == "lienthong_queue_messages" for name, _ in values)
    assert values[("lienthong_deliveries", (("state", "queued"),))] == 0
