"""What the API fuzz run (tests/fuzz/api.py, `make fuzz`) found, each kept as a regression
test: an input error answered as a server error."""

from __future__ import annotations

import pytest

from .conftest import ApiClient, Hub

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("since", ["0001-01-01T00:01:00+03:04", "9999-12-31T23:59:00-05:00"])
def test_a_replay_since_a_moment_off_the_calendar_in_utc_is_refused_422(
    client: ApiClient, hub: Hub, since: str
) -> None:
    response = client.post(
        "/api/v1/replays",
        json={"state": "parked", "since": since, "dry_run": True},
        headers=hub.operator_auth(),
    )

    assert (response.status_code, response.json()["error"]["code"]) == (422, "request.invalid")
