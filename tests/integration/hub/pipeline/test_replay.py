"""Replay of parked and expired deliveries: dry run, same ids, new outbox row, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.auth.callers import AuthenticatedAgency
from hub.db.base import utcnow
from hub.db.models import Delivery, DeliveryState, OutboxMessage
from hub.errors import InvalidRequestError
from hub.records import audit
from hub.transport.replay import ReplayFilter, replay

from ..conftest import snapshot
from . import packets
from .conftest import ApiClient, Hub
from .packets import CITY, DEPARTMENT, DISTRICT, WARD

pytestmark = pytest.mark.integration


def parked(hub: Hub) -> dict[str, str]:
    """A document to three recipients whose webhook deliveries were parked; ids by recipient."""
    _, raw = packets.document(WARD, (DISTRICT, CITY, DEPARTMENT))
    result = hub.ingest.accept(raw, AuthenticatedAgency(WARD, WARD))
    ids = {d.recipient: d.delivery_id for d in result.deliveries}
    for code in (CITY, DEPARTMENT):
        hub.set_state(ids[code], DeliveryState.PARKED, attempts=8, last_error="HTTP 503")
    return ids


def run(hub: Hub, selection: ReplayFilter, *, dry_run: bool = False, reason: str = "fixed"):
    with hub.database.transaction(commit=not dry_run) as session:
        return replay(session, selection, actor="operator:lan", reason=reason, dry_run=dry_run)


def test_dry_run_lists_what_would_be_replayed_and_changes_nothing(hub: Hub) -> None:
    ids = parked(hub)
    before = snapshot(hub.database.engine)

    report = run(hub, ReplayFilter(state="parked"), dry_run=True)

    assert sorted(item.delivery_id for item in report.deliveries) == sorted(
        [ids[CITY], ids[DEPARTMENT]]
    )
    assert snapshot(hub.database.engine) == before


def test_replay_requeues_with_the_same_delivery_id_keeping_attempts_and_error(hub: Hub) -> None:
    ids = parked(hub)

    run(hub, ReplayFilter(state="parked", recipient=CITY))

    with hub.database.transaction() as session:
        delivery = session.get(Delivery, ids[CITY])
        assert delivery is not None
        assert (delivery.state, delivery.attempts, delivery.last_error) == (
            DeliveryState.QUEUED,
            8,
            "HTTP 503",
        )
        other = session.get(Delivery, ids[DEPARTMENT])
        assert other is not None
        assert other.state is DeliveryState.PARKED


def test_replay_writes_a_new_outbox_row(hub: Hub) -> None:
    ids = parked(hub)

    run(hub, ReplayFilter(state="parked", recipient=CITY))

    with hub.database.transaction() as session:
        reasons = session.scalars(
            select(OutboxMessage.reason)
            .where(OutboxMessage.delivery_id == ids[CITY])
            .order_by(OutboxMessage.id)
        ).all()
    assert reasons == ["ingest", "replay"]


def test_replay_is_audited_with_actor_reason_and_ids(hub: Hub) -> None:
    ids = parked(hub)

    report = run(hub, ReplayFilter(state="parked"), reason="sở đã sửa máy chủ")

    with hub.database.transaction() as session:
        (entry,) = audit.latest(session, 5)
        assert audit.verify(session).ok
    assert (entry.id, entry.actor, entry.reason) == (
        report.audit_entry_id,
        "operator:lan",
        "sở đã sửa máy chủ",
    )
    assert sorted(d["delivery_id"] for d in entry.details["deliveries"]) == sorted(
        [ids[CITY], ids[DEPARTMENT]]
    )
    assert {d["last_error"] for d in entry.details["deliveries"]} == {"HTTP 503"}


def test_replay_since_leaves_older_deliveries_alone(hub: Hub) -> None:
    ids = parked(hub)
    hub.set_state(ids[CITY], DeliveryState.PARKED, updated_at=utcnow() - timedelta(days=2))

    report = run(hub, ReplayFilter(state="parked", since=utcnow() - timedelta(hours=1)))

    assert [item.delivery_id for item in report.deliveries] == [ids[DEPARTMENT]]


def test_replay_selects_by_state(hub: Hub) -> None:
    ids = parked(hub)
    hub.set_state(ids[DISTRICT], DeliveryState.EXPIRED)

    report = run(hub, ReplayFilter(state="expired"))

    assert [item.delivery_id for item in report.deliveries] == [ids[DISTRICT]]


def test_replay_without_a_reason_is_refused(hub: Hub) -> None:
    parked(hub)

    with pytest.raises(InvalidRequestError):
        run(hub, ReplayFilter(state="parked"), reason=" ")


def test_operator_replays_over_http(client: ApiClient, hub: Hub) -> None:
    ids = parked(hub)

    response = client.post(
        "/api/v1/replays",
        json={"state": "parked", "delivery_ids": [ids[CITY]], "reason": "thử lại"},
        headers=hub.operator_auth("lan"),
    )

    assert response.status_code == 200
    body = response.json()
    assert [item["delivery_id"] for item in body["deliveries"]] == [ids[CITY]]
    with hub.database.transaction() as session:
        (entry,) = audit.latest(session, 1)
    assert (entry.id, entry.actor) == (body["audit_entry_id"], "operator:lan")


def test_http_dry_run_changes_nothing(client: ApiClient, hub: Hub) -> None:
    parked(hub)
    headers = hub.operator_auth()
    dry_run = {"state": "parked", "dry_run": True}
    client.post("/api/v1/replays", json=dry_run, headers=headers)
    before = snapshot(hub.database.engine)

    response = client.post("/api/v1/replays", json=dry_run, headers=headers)

    assert (response.status_code, len(response.json()["deliveries"])) == (200, 2)
    assert snapshot(hub.database.engine) == before


def test_agency_token_cannot_replay(client: ApiClient, hub: Hub) -> None:
    parked(hub)

    response = client.post(
        "/api/v1/replays", json={"state": "parked", "reason": "x"}, headers=hub.auth(WARD)
    )

    assert (response.status_code, response.json()["error"]["code"]) == (
        403,
        "auth.operator-only",
    )


def test_http_replay_without_a_reason_answers_422(client: ApiClient, hub: Hub) -> None:
    parked(hub)

    response = client.post("/api/v1/replays", json={"state": "parked"}, headers=hub.operator_auth())

    assert (response.status_code, response.json()["error"]["code"]) == (
        422,
        "replay.reason-required",
    )
