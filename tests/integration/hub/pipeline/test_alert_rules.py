"""The shipped Prometheus alert rules name only metrics the API really exposes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from hub.api.app import create_app
from hub.db.base import utcnow
from hub.db.models import AxisPollState, DeliveryAttempt

from . import packets
from .conftest import ApiClient, Hub
from .packets import DISTRICT, WARD

pytestmark = pytest.mark.integration

RULES = Path(__file__).resolve().parents[4] / "docs" / "prometheus-alerts.yml"
METRIC = re.compile(r"\b(lienthong_[a-z0-9_]+)")


def rules() -> list[dict[str, object]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_rule_has_an_expression_a_severity_and_a_summary() -> None:
    for rule in rules():
        assert isinstance(rule.get("alert"), str)
        assert isinstance(rule.get("expr"), str)
        labels = rule.get("labels")
        assert isinstance(labels, dict)
        assert labels.get("severity") in {"critical", "warning", "info"}
        annotations = rule.get("annotations")
        assert isinstance(annotations, dict)
        assert annotations.get("summary")


def test_every_metric_the_rules_name_is_exposed(hub: Hub) -> None:
    with hub.database.transaction() as session:
        session.add(AxisPollState(upstream="vxp", kind="edoc", last_poll_at=utcnow()))
        session.add(
            AxisPollState(
                upstream="vxp", kind="status", last_poll_at=utcnow(), last_success_at=utcnow()
            )
        )
    app = create_app(
        hub.settings, hub.database, hub.blobs, queue_depths=lambda: {"x.deliveries": 0}
    )
    with ApiClient(app) as client:
        client.post("/api/v1/packets", content=b"not xml", headers=hub.auth(WARD))
        accepted = client.post(
            "/api/v1/packets",
            content=packets.document(WARD, (DISTRICT,))[1],
            headers=hub.auth(WARD),
        )
        with hub.database.transaction() as session:
            session.add(
                DeliveryAttempt(
                    delivery_id=accepted.json()["deliveries"][0]["delivery_id"],
                    number=1,
                    started_at=utcnow(),
                    outcome="transient",
                )
            )
        text = client.get("/metrics").text
    exposed = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    named = {name for rule in rules() for name in METRIC.findall(str(rule["expr"]))}

    assert named
    assert named <= exposed, sorted(named - exposed)
