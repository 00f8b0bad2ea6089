"""A simulated axis node over real HTTP, one per test module, with secrets made at test time.

Three systems are connected: the city hub (``hanoi.hub``, the city's own code, a district
under it and every ``*.H26``), the Government Office (``vpcp``) and a ministry
(``justice``). Each test starts with empty queues and no fault.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import httpx
import pytest

from adapters.axis import AxisClient, AxisConfig
from simulators.axis import AxisSimulator, BackgroundServer
from simulators.axis.systems import systems_from
from tests.integration.axis.traffic import CITY, DISTRICT, GOVERNMENT_OFFICE, JUSTICE

CITY_HUB = "hanoi.hub"
VPCP = "vpcp"
MINISTRY = "justice"
ORGAN_OF = {CITY_HUB: CITY, VPCP: GOVERNMENT_OFFICE, MINISTRY: JUSTICE}

MakeClient = Callable[..., AxisClient]


@pytest.fixture(scope="module")
def system_secrets() -> dict[str, str]:
    """A fresh secret per system."""
    return {system: secrets.token_urlsafe(24) for system in ORGAN_OF}


@pytest.fixture(scope="module")
def simulator(system_secrets: dict[str, str]) -> AxisSimulator:
    """The simulated node (its state is inspected and reset directly by the tests)."""
    return AxisSimulator(
        systems_from(
            {
                "systems": {
                    CITY_HUB: {
                        "secret": system_secrets[CITY_HUB],
                        "agencies": [
                            {"code": CITY, "name": "UBND thành phố Hà Nội"},
                            {"code": DISTRICT, "name": "UBND quận", "parent_code": CITY},
                            "*.H26",
                        ],
                    },
                    VPCP: {
                        "secret": system_secrets[VPCP],
                        "agencies": [{"code": GOVERNMENT_OFFICE, "name": "Văn phòng Chính phủ"}],
                    },
                    MINISTRY: {
                        "secret": system_secrets[MINISTRY],
                        "agencies": [{"code": JUSTICE, "name": "Bộ Tư pháp"}],
                    },
                }
            }
        )
    )


@pytest.fixture(scope="module")
def server(simulator: AxisSimulator) -> Iterator[BackgroundServer]:
    """The node served by uvicorn on a free localhost port."""
    with BackgroundServer(simulator.app) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_node(simulator: AxisSimulator) -> Iterator[None]:
    """Empty queues, no fault and default behaviour for every test."""
    simulator.store.clear()
    simulator.faults.clear()
    yield
    simulator.refusals_as_200 = False
    simulator.max_clock_skew = None


def _client(url: str, system: str, secret: str, **config: object) -> AxisClient:
    settings = {
        "url": url,
        "system_id": system,
        "secret": secret,
        "organ_id": ORGAN_OF.get(system),
        "retry_initial": 0.01,
        "retry_max": 0.05,
        **config,
    }
    return AxisClient(AxisConfig.model_validate(settings))


@pytest.fixture
def make_client(server: BackgroundServer, system_secrets: dict[str, str]) -> Iterator[MakeClient]:
    """``make_client(system, **config)``: a client of the node for one system, closed after."""
    made: list[AxisClient] = []

    def make(system: str, *, secret: str | None = None, **config: object) -> AxisClient:
        chosen = secret if secret is not None else system_secrets.get(system, "unknown")
        made.append(_client(server.url, system, chosen, **config))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="module")
def city(server: BackgroundServer, system_secrets: dict[str, str]) -> Iterator[AxisClient]:
    """The city hub's client."""
    with _client(server.url, CITY_HUB, system_secrets[CITY_HUB]) as client:
        yield client


@pytest.fixture(scope="module")
def vpcp(server: BackgroundServer, system_secrets: dict[str, str]) -> Iterator[AxisClient]:
    """The Government Office's client."""
    with _client(server.url, VPCP, system_secrets[VPCP]) as client:
        yield client


@pytest.fixture(scope="module")
def admin(server: BackgroundServer) -> Iterator[httpx.Client]:
    """A plain HTTP client of the node's /_sim endpoints."""
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client
