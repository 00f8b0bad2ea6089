"""``lienthong axis reconcile``: what the axis says it carried, against the hub's deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from hub.cli import main
from hub.console.queries import axis_link
from hub.db.models import AxisReconciliation, Delivery, DeliveryState
from hub.logging import reset_logging
from tests.integration.hub.pipeline.packets import document

from .conftest import CITY_SYSTEM, GOVERNMENT_OFFICE, SECURITY, WARD, AxisHub, MakeAxisHub

pytestmark = pytest.mark.integration


def _environment(axis_hub: AxisHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the `lienthong` command the hub's database and axis settings."""
    settings = axis_hub.hub.settings
    for name, value in {
        "LIENTHONG_DATABASE_URL": settings.database.url,
        "LIENTHONG_DATA_DIR": str(settings.storage.data_dir),
        "LIENTHONG_AUTO_MIGRATE": "never",
        "LIENTHONG_AXIS_URL": settings.axis.url,
        "LIENTHONG_AXIS_SYSTEM_ID": settings.axis.system_id,
        "LIENTHONG_AXIS_SECRET": settings.axis.secret.get_secret_value(),
        "LIENTHONG_AXIS_HTTP_ATTEMPTS": "1",
    }.items():
        if value:
            monkeypatch.setenv(name, value)


@pytest.fixture
def linked(make_axis_hub: MakeAxisHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[AxisHub]:
    """A hub whose `lienthong` commands reach the simulated axis."""
    axis_hub = make_axis_hub()
    _environment(axis_hub, monkeypatch)
    yield axis_hub
    reset_logging()


def _deliver(axis_hub: AxisHub, *recipients: str) -> list[str]:
    _, data = document(WARD, recipients)
    result = axis_hub.post(data, WARD)
    with axis_hub.hub.worker():
        for delivery in result.deliveries:
            axis_hub.hub.wait_state(delivery.delivery_id, DeliveryState.DELIVERED)
    return [delivery.delivery_id for delivery in result.deliveries]


def _latest(axis_hub: AxisHub) -> AxisReconciliation:
    with axis_hub.hub.database.transaction() as session:
        row = session.scalars(
            select(AxisReconciliation).order_by(AxisReconciliation.id.desc())
        ).first()
        assert row is not None
        session.expunge(row)
        return row


def test_what_the_hub_sent_matches_what_the_axis_lists(
    linked: AxisHub, capsys: pytest.CaptureFixture[str]
) -> None:
    _deliver(linked, GOVERNMENT_OFFICE, SECURITY)

    code = main(["axis", "reconcile"])

    assert code == 0
    row = _latest(linked)
    assert (row.upstream, row.listed, row.matched, row.unknown, row.missing) == (
        f"vxp:{CITY_SYSTEM}",
        2,
        2,
        0,
        0,
    )
    assert row.receive_states == {"pending": 2}
    assert "2 match a delivery of the hub" in capsys.readouterr().err


def test_a_doc_id_the_hub_does_not_hold_is_unknown_and_its_delivery_missing(
    linked: AxisHub, capsys: pytest.CaptureFixture[str]
) -> None:
    (delivery_id,) = _deliver(linked, GOVERNMENT_OFFICE)
    with linked.hub.database.transaction() as session:
        session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(external_ref="lost-at-axis")
        )

    code = main(["axis", "reconcile", "--days", "1"])

    out = capsys.readouterr().out
    row = _latest(linked)
    assert code == 0
    assert (row.matched, row.unknown, row.missing) == (0, 1, 1)
    assert f"missing\tlost-at-axis\t{GOVERNMENT_OFFICE}\t{delivery_id}" in out
    assert row.samples["missing"] == [["lost-at-axis", GOVERNMENT_OFFICE, delivery_id]]
    with linked.hub.database.transaction() as session:
        link = axis_link(session)
    assert [r.id for r in link.reconciliations] == [row.id]


def test_without_an_axis_reconcile_says_what_to_set(
    make_axis_hub: MakeAxisHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(make_axis_hub(axis_url=""), monkeypatch)

    code = main(["axis", "reconcile"])

    reset_logging()
    assert code == 1
    assert "LIENTHONG_AXIS_URL" in capsys.readouterr().err
