"""Settings of ingest and the agency API: the axis route and signature trust anchors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import load_settings


def test_axis_route_is_off_by_default() -> None:
    assert load_settings().ingest.axis_route is False


def test_axis_route_is_switched_on_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_AXIS_ROUTE", "true")

    assert load_settings().ingest.axis_route is True


def test_trust_anchors_are_a_comma_separated_list_of_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIENTHONG_TRUST_ANCHORS", "ca/root.pem, ca/sub.pem")

    assert load_settings().ingest.trust_anchors == (Path("ca/root.pem"), Path("ca/sub.pem"))
