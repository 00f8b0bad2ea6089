"""A hub linked to a simulated national axis: real HTTP, RabbitMQ and databases.

The axis node (one per module, served over HTTP on a free localhost port) connects four
systems: the city hub (``hanoi.hub``: the city's code and every ``*.H26``), the Government
Office (``vpcp``, 000.00.00.G22), the Ministry of Public Security (``bca``, 000.00.00.G01) and
another province (``hcm``: its committee, a department, and a code of another shape).
The hub under test has the Hà Nội sample directory (where both ministries are on channel
``axis``), the broker fixtures of tests/integration/broker (a per-test prefix, cleaned after)
and each database backend in turn; tests are skipped when RabbitMQ or PostgreSQL is absent,
and fail under ``CI=true``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from adapters.axis import AxisClient, AxisConfig, Upstream
from hub.auth.callers import AuthenticatedAgency
from hub.axis.poller import AxisPoller
from hub.bootstrap import open_axis_poller
from hub.db.models import Delivery, Packet
from hub.directory import import_directory, read_directory_file, sample_directory
from hub.ingest.service import IngestResult, IngestService
from simulators.axis import AxisSimulator, BackgroundServer
from simulators.axis.systems import systems_from
from tests.integration.broker.conftest import (  # noqa: F401 - fixtures used by name
    Hub,
    amqp_url,
    broker,
    make_hub,
    session_prefix,
)
from tests.integration.hub.conftest import (  # noqa: F401 - fixtures used by name
    clean_environment,
    database,
    database_url,
    postgres_server_url,
    postgres_url,
    settings,
    sqlite_url,
)

CITY_SYSTEM = "hanoi.hub"
CITY = "000.00.00.H26"
WARD = "000.21.22.H26"
"""Phường of quận Đống Đa: inbox channel in the sample directory."""
DISTRICT = "000.00.22.H26"
"""UBND quận Đống Đa: inbox channel in the sample directory."""
GOVERNMENT_OFFICE = "000.00.00.G22"
SECURITY = "000.00.00.G01"
UNSERVED_MINISTRY = "000.00.00.G91"
"""On channel axis in the sample directory, but served by no system of the node."""
CITY_DEPARTMENT = "000.00.77.H26"
"""Listed by the axis for the city's system, absent from the sample directory."""
OTHER_CITY = "000.00.00.H17"
OTHER_DEPARTMENT = "000.00.12.H17"
SAAS_SYSTEM = "vxp.saas.03"
"""An axis code that is not in the QCVN form."""


@pytest.fixture(scope="module")
def system_secrets() -> dict[str, str]:
    return {system: secrets.token_urlsafe(24) for system in (CITY_SYSTEM, "vpcp", "bca", "hcm")}


@pytest.fixture(scope="module")
def simulator(system_secrets: dict[str, str]) -> AxisSimulator:
    return AxisSimulator(
        systems_from(
            {
                "systems": {
                    CITY_SYSTEM: {
                        "secret": system_secrets[CITY_SYSTEM],
                        "agencies": [
                            {"code": CITY, "name": "UBND thành phố Hà Nội"},
                            {"code": CITY_DEPARTMENT, "name": "Sở mới của Hà Nội"},
                            "*.H26",
                        ],
                    },
                    "vpcp": {
                        "secret": system_secrets["vpcp"],
                        "agencies": [{"code": GOVERNMENT_OFFICE, "name": "Văn phòng Chính phủ"}],
                    },
                    "bca": {
                        "secret": system_secrets["bca"],
                        "agencies": [{"code": SECURITY, "name": "Bộ Công an"}],
                    },
                    "hcm": {
                        "secret": system_secrets["hcm"],
                        "agencies": [
                            {"code": OTHER_CITY, "name": "UBND Thành phố Hồ Chí Minh"},
                            {
                                "code": OTHER_DEPARTMENT,
                                "name": "Sở Nội vụ TP Hồ Chí Minh",
                                "parent_code": OTHER_CITY,
                            },
                            {"code": SAAS_SYSTEM},
                        ],
                    },
                }
            }
        )
    )


@pytest.fixture(scope="module")
def server(simulator: AxisSimulator) -> Iterator[BackgroundServer]:
    with BackgroundServer(simulator.app) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_node(simulator: AxisSimulator) -> Iterator[None]:
    """Empty queues and no fault for every test."""
    simulator.store.clear()
    simulator.faults.clear()
    yield
    simulator.faults.clear()


@pytest.fixture
def ministry(
    server: BackgroundServer, system_secrets: dict[str, str]
) -> Iterator[Callable[[str], AxisClient]]:
    """``ministry("vpcp")``: the client of a ministry's system, closed after the test."""
    made: list[AxisClient] = []
    organs = {"vpcp": GOVERNMENT_OFFICE, "bca": SECURITY}

    def make(system: str) -> AxisClient:
        config = AxisConfig(
            url=server.url,
            system_id=system,
            secret=system_secrets[system],
            organ_id=organs[system],
            retry_initial=0.01,
            retry_max=0.05,
        )
        made.append(AxisClient(config))
        return made[-1]

    yield make
    for client in made:
        client.close()


@dataclass
class AxisHub:
    """The hub under test, its ingest, and its link to the simulated axis."""

    hub: Hub
    ingest: IngestService
    simulator: AxisSimulator

    def post(self, data: bytes, agency: str) -> IngestResult:
        """Ingest a packet posted by a local agency, and publish its deliveries."""
        result = self.ingest.accept(data, AuthenticatedAgency(code=agency, name=agency))
        self.hub.relay_once()
        return result

    @contextmanager
    def poller(self) -> Iterator[AxisPoller]:
        """The hub's receive loops, built as `lienthong axis poll` builds them."""
        with open_axis_poller(self.hub.settings, self.hub.database) as poller:
            yield poller

    def poller_with(self, upstream: Upstream) -> AxisPoller:
        """Receive loops over another upstream (e.g. one that crashes)."""
        return AxisPoller(
            upstream,
            self.ingest,
            self.hub.database,
            self.hub.blobs,
            periods={"edoc": 0.1, "status": 0.1},
        )

    def deliveries(self, packet_id: str) -> dict[str, Delivery]:
        with self.hub.database.transaction() as session:
            rows = session.scalars(select(Delivery).where(Delivery.packet_id == packet_id))
            return {row.recipient_code: row for row in rows}

    def packets(self, **where: Any) -> list[Packet]:
        with self.hub.database.transaction() as session:
            query = select(Packet).order_by(Packet.received_at)
            for name, value in where.items():
                query = query.where(getattr(Packet, name) == value)
            return list(session.scalars(query))

    def inject(
        self,
        data: bytes,
        *,
        to: list[str],
        message_type: str = "edoc",
        sender: str = GOVERNMENT_OFFICE,
    ) -> str:
        """Queue a packet for the city's system as if a ministry had sent it; its docId."""
        transmission = self.simulator.store.submit(
            sender_system="vpcp",
            sender=sender,
            recipients=to,
            message_type="status" if message_type == "status" else "edoc",
            data=data,
            routes={CITY_SYSTEM: to},
        )
        return transmission.doc_id

    def queue_state(self, doc_id: str) -> str:
        entry = self.simulator.store.entry(CITY_SYSTEM, doc_id)
        assert entry is not None
        return entry.state


MakeAxisHub = Callable[..., AxisHub]


@pytest.fixture
def make_axis_hub(
    make_hub: Callable[..., Hub],  # noqa: F811 - the imported fixture
    server: BackgroundServer,
    simulator: AxisSimulator,
    system_secrets: dict[str, str],
) -> MakeAxisHub:
    """``make_axis_hub(**settings)``: a hub with the sample directory, linked to the node."""

    def make(**overrides: Any) -> AxisHub:
        values: dict[str, Any] = {
            "axis_url": server.url,
            "axis_system_id": CITY_SYSTEM,
            "axis_secret": system_secrets[CITY_SYSTEM],
            "axis_organ_id": CITY,
            "axis_http_attempts": 1,
            "axis_read_timeout": 5.0,
            "axis_poll_edoc_seconds": 0.1,
            "axis_poll_status_seconds": 0.1,
            **overrides,
        }
        hub = make_hub(**values)
        with hub.database.transaction() as session:
            import_directory(session, read_directory_file(sample_directory("hanoi")))
        return AxisHub(hub, IngestService(hub.settings, hub.database, hub.blobs), simulator)

    return make


@pytest.fixture
def axis_hub(make_axis_hub: MakeAxisHub) -> AxisHub:
    return make_axis_hub()
