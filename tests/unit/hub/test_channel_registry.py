"""Each channel of the enum is served by the module of its name, and nothing else lists them."""

from __future__ import annotations

import re
from pathlib import Path

from hub.channels import Channel
from hub.channels.registry import channel_module, peer_label

ROOT = Path(__file__).resolve().parents[3]


def test_every_channel_has_a_module_that_builds_its_handler_and_names_its_peer() -> None:
    for channel in Channel:
        module = channel_module(channel)
        assert callable(module.build), channel
        assert isinstance(peer_label(channel, "000.00.01.H26", {}), str)


def test_a_webhook_peer_is_its_endpoints_origin_as_the_breaker_keys_it() -> None:
    settings = {"url": "https://Van-Thu.example.vn/hook?x=1"}
    assert (
        peer_label(Channel.WEBHOOK, "000.00.01.H26", settings) == "https://van-thu.example.vn:443"
    )
    assert peer_label(Channel.WEBHOOK, "000.00.01.H26", {}) == "webhook:000.00.01.H26"


def test_no_module_outside_the_enum_spells_out_the_list_of_channels() -> None:
    spelled = re.compile(r"""["']inbox["'],\s*["']webhook["'],\s*["']amqp["']""")
    offenders = [
        path.relative_to(ROOT).as_posix()
        for top in ("hub", "adapters", "simulators")
        for path in (ROOT / top).rglob("*.py")
        if spelled.search(path.read_text("utf-8")) and "migrations/versions" not in path.as_posix()
    ]
    assert offenders == []
