"""A hub serving its VXP endpoint over real HTTP, with the public samples' agencies on it.

Every agency of the sample packets is on the ``vxp`` channel with a system of its own (id =
its code) and a secret issued as ``lienthong agency vxp-secret`` issues it. The sender of
``edoc_new`` (002.00.20.H13) numbers it with the Government Office's DocumentId, so the
directory lets it send for the Government Office (docs/security.md). Each test gets
fresh SDK objects (:class:`VxpSdk`, AXIS-SDK.md byte for byte) created a day ago, so every
call also carries the SDK's frozen timestamp and, once a call has been made, the leftovers
of its never-cleared header map.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import select, update

from adapters.payloads.files import FileBlobStore
from hub.api.app import create_app
from hub.channels import Channel, vxp
from hub.channels.base import DeliveryJob
from hub.channels.registry import ChannelResources
from hub.db.database import Database
from hub.db.models import Delivery, DeliveryState
from hub.directory import import_directory, parse_directory
from hub.settings import Settings
from hub.vxp.secrets import SecretBox, issue_secret, new_key
from simulators.axis import BackgroundServer
from simulators.vxpsdk import VxpSdk

from ..conftest import settings_for

G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
H13_SENDER, H17_SHORT = "002.00.20.H13", "28.22.H17"
CODES = (G22, H41, H14, G17, H13_SENDER, H17_SHORT)
KEY = new_key()

DIRECTORY = f"""
levels:
  - {{level: 1, name: Trung ương}}
  - {{level: 2, name: Tỉnh}}
  - {{level: 3, name: Sở}}
agencies:
  - {{code: {G22}, name: Văn phòng Chính phủ, level: 1, channel: vxp}}
  - {{code: {H41}, name: UBND tỉnh Nghệ An, level: 2, channel: vxp}}
  - {{code: {H14}, name: UBND tỉnh Cao Bằng, level: 2, channel: vxp}}
  - {{code: {G17}, name: Sở TT&TT, level: 3, parent: {H14}, channel: vxp}}
  - {{code: {H13_SENDER}, name: Đơn vị gửi, level: 3, channel: vxp, may_send_for: [{G22}]}}
  - {{code: {H17_SHORT}, name: Đơn vị nhận, level: 3, channel: vxp}}
"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of the backend under test, with a key for the VXP secrets."""
    return settings_for(database_url, tmp_path, vxp_keys=KEY)


@dataclass
class VxpHub:
    """A hub whose VXP endpoint is served at :attr:`endpoint`."""

    settings: Settings
    database: Database
    endpoint: str
    secrets: dict[str, str]
    """The active secret of each agency's system (its id is the agency code)."""
    made: list[VxpSdk] = field(default_factory=list)

    def sdk(self, code: str, *, secret: str | None = None, system: str | None = None) -> VxpSdk:
        """An SDK object of the agency's system, created a day ago."""
        yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        chosen = secret if secret is not None else self.secrets[code]
        made = VxpSdk(self.endpoint, system or code, chosen, clock=lambda: yesterday)
        self.made.append(made)
        return made

    def issue(self, code: str, label: str = "") -> str:
        """Another secret of the agency's system."""
        with self.database.transaction() as session:
            return issue_secret(session, SecretBox([KEY]), code, label=label).secret

    def work(self) -> int:
        """What the workers do for the waiting vxp deliveries: run the channel's handler."""
        handler = vxp.build(cast(ChannelResources, None))
        with self.database.transaction() as session:
            waiting = session.execute(
                select(Delivery.id, Delivery.packet_id, Delivery.recipient_code).where(
                    Delivery.state == DeliveryState.QUEUED, Delivery.channel == Channel.VXP
                )
            ).all()
            for delivery_id, packet_id, recipient in waiting:
                job = DeliveryJob(delivery_id, packet_id, recipient, Channel.VXP, "", "edoc", 1, {})
                state = handler.deliver(job, b"").state
                session.execute(
                    update(Delivery).where(Delivery.id == delivery_id).values(state=state)
                )
        return len(waiting)

    def state(self, delivery_id: str) -> DeliveryState:
        """A delivery's transport state."""
        with self.database.transaction() as session:
            found = session.get(Delivery, delivery_id)
            assert found is not None
            return found.state


@contextmanager
def serving(settings: Settings, database: Database) -> Iterator[str]:
    """The hub's API on a free port: its VXP endpoint URL."""
    app = create_app(settings, database, FileBlobStore(settings.storage.blob_dir))
    with BackgroundServer(app) as server:
        yield f"{server.url}/vxp"


@pytest.fixture
def vxp_hub(settings: Settings, database: Database) -> Iterator[VxpHub]:
    """The hub with the samples' agencies, a secret each, its API served over HTTP."""
    with database.transaction() as session:
        import_directory(session, parse_directory(DIRECTORY, "yaml"))
        box = SecretBox([KEY])
        secrets = {code: issue_secret(session, box, code).secret for code in CODES}
    with serving(settings, database) as endpoint:
        hub = VxpHub(settings, database, endpoint, secrets)
        yield hub
        for sdk in hub.made:
            sdk.close()
