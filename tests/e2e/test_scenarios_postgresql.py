"""city-day on PostgreSQL: the same shortened scenario as on SQLite, against a hub whose
tracking database is a throwaway PostgreSQL database (the production setup)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import throwaway_database
from tests.e2e.test_scenarios import ScenarioHub, assert_city_day, running_scenario_hub

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def postgresql_scenario_hub(
    amqp_url: str, session_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScenarioHub]:
    root = tmp_path_factory.mktemp("scenarios-postgresql")
    with (
        throwaway_database("postgresql") as database,
        running_scenario_hub(amqp_url, f"{session_prefix}.scenarios-pg", root, database) as running,
    ):
        yield running


def test_city_day_on_postgresql_delivers_every_document_at_every_level_with_its_statuses(
    postgresql_scenario_hub: ScenarioHub,
) -> None:
    assert_city_day(postgresql_scenario_hub)
