"""The simulated systems of a directory's agencies, each with its profile, running.

Local agencies are played behind the hub on their directory channel — ``webhook`` on the port
and path of their URL (agencies sharing a port share one server), checking the secret of their
settings; ``inbox`` by polling the API with their token — and ministries behind the simulated
axis through their system's account. Down windows of the profiles count from
:meth:`Cast.start_clock`: a webhook that is down refuses connections (or answers 503, also
when it shares its port), an inbox or axis queue is not polled.
"""

from __future__ import annotations

import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import structlog

from adapters.axis import AxisClient, AxisConfig
from simulators.agencies import (
    Agency,
    AxisInbox,
    AxisSender,
    HubClient,
    InboxPoller,
    PacketPoster,
    WebhookEndpoint,
    WebhookServer,
)
from simulators.closing import Closing
from simulators.profiles import Profile
from simulators.scenario.deployment import Deployment, MinistryAccount
from simulators.scenario.plan import Member, Roster

__all__ = ["Cast", "Player", "open_cast", "playable"]

_log = structlog.get_logger(__name__)


@dataclass
class Player:
    """One simulated agency system: its agency, profile and channel."""

    member: Member
    profile: Profile
    agency: Agency
    endpoint: WebhookEndpoint | None = None
    poller: InboxPoller | AxisInbox | None = None
    shared_port: bool = False
    down: bool = field(default=False)

    def go_down(self) -> None:
        """Become unreachable (the profile's down window began)."""
        self.down = True
        refuses = self.profile.webhook.down_mode == "refuse"
        if self.endpoint is not None and not self.shared_port and refuses:
            self.endpoint.pause()
        if self.poller is not None:
            self.poller.pause()
        _log.info("agency.down", agency=self.member.code, profile=self.profile.name)

    def come_up(self) -> None:
        """Be reachable again."""
        self.down = False
        if self.endpoint is not None and not self.shared_port:
            self.endpoint.resume()
        if self.poller is not None:
            self.poller.resume()
        _log.info("agency.up", agency=self.member.code, profile=self.profile.name)


def playable(
    member: Member, deployment: Deployment, ministries: Mapping[str, MinistryAccount]
) -> bool:
    """Whether a simulated system can play ``member``: a local agency on webhook or inbox
    with a token, or an agency on channel axis whose system the axis lists."""
    if member.channel in ("webhook", "inbox"):
        if member.channel == "webhook" and not str(member.settings.get("url") or ""):
            return False
        return member.code in deployment.tokens
    return member.channel == "axis" and member.code in ministries


class Cast(Closing):
    """The running players, by agency code."""

    def __init__(self, players: Mapping[str, Player], stack: ExitStack) -> None:
        self.players = dict(players)
        self._stack = stack
        self._timers: list[threading.Timer] = []

    @property
    def agencies(self) -> dict[str, Agency]:
        """Each player's agency."""
        return {code: player.agency for code, player in self.players.items()}

    def profile_of(self, code: str) -> Profile:
        """The profile agency ``code`` plays."""
        return self.players[code].profile

    def start_clock(self, origin: float | None = None) -> None:
        """Start the profiles' down windows, counting from ``origin`` (``time.monotonic()``;
        default now)."""
        start = time.monotonic() if origin is None else origin
        for player in self.players.values():
            for window in player.profile.down:
                self._at(start + window.start, player.go_down)
                if window.end is not None:
                    self._at(start + window.end, player.come_up)

    def _at(self, moment: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(max(0.0, moment - time.monotonic()), action)
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def problems(self) -> list[str]:
        """Errors the simulated systems noticed (not the failures their profiles cause)."""
        return [
            f"{code}: {error}"
            for code, player in self.players.items()
            for error in player.agency.errors
        ]

    def pending_answers(self) -> int:
        """Answers scheduled and not yet posted, all agencies together."""
        return sum(player.agency.pending_answers() for player in self.players.values())

    def close(self) -> None:
        """Stop every player (scheduled answers not yet due are dropped)."""
        for timer in self._timers:
            timer.cancel()
        for player in self.players.values():
            if player.down:
                with suppress(OSError):
                    player.come_up()
        self._stack.close()


def open_cast(
    deployment: Deployment,
    roster: Roster,
    profile_of: Callable[[Member], Profile],
    *,
    codes: Iterable[str] | None = None,
    first_number: int = 1,
    environ: Mapping[str, str] | None = None,
    servers: Mapping[int, WebhookServer] | None = None,
) -> Cast:
    """Start a simulated system for every playable agency of ``roster`` (or of ``codes``).

    ``servers`` are webhook servers already listening, by port (bound before the hub
    starts, so that no outgoing connection takes their port meanwhile); they stay the
    caller's: the cast only mounts its endpoints on them, and takes them off when it closes.

    Raises:
        OSError: a webhook port cannot be bound (another process holds it).
    """
    ministries = deployment.ministries(environ)
    wanted = set(codes) if codes is not None else None
    stack = ExitStack()
    players: dict[str, Player] = {}
    servers = dict(servers or {})
    tls = ssl.create_default_context()
    try:
        members = [
            member
            for member in roster.members.values()
            if (wanted is None or member.code in wanted)
            and playable(member, deployment, ministries)
        ]
        ports: dict[int, int] = {}
        for member in members:
            if member.channel == "webhook":
                port = _port_of(member)
                ports[port] = ports.get(port, 0) + 1
        for member in members:
            profile = profile_of(member)
            poster: PacketPoster
            if member.channel == "axis":
                account = ministries[member.code]
                assert deployment.axis is not None
                axis = stack.enter_context(
                    AxisClient(
                        AxisConfig(
                            url=deployment.axis.url,
                            system_id=account.system_id,
                            secret=account.secret,
                            organ_id=member.code,
                            http_attempts=2,
                            read_timeout=20.0,
                            retry_initial=0.2,
                            retry_max=1.0,
                            verify_tls=deployment.axis.url.startswith("https:"),
                        )
                    )
                )
                poster = AxisSender(axis, member.code)
            else:
                poster = stack.enter_context(
                    HubClient(
                        deployment.hub_url,
                        deployment.tokens[member.code],
                        busy_retries=5,
                        max_busy_wait=2.0,
                        verify=tls,
                    )
                )
            agency = Agency(
                member.code,
                poster,
                profile.behaviour,
                notation=_notation(member),
                first_number=first_number,
            )
            stack.callback(agency.close)
            player = Player(member, profile, agency)
            if member.channel == "webhook":
                port = _port_of(member)
                player.shared_port = ports[port] > 1
                server = servers.get(port)
                if server is None:
                    server = WebhookServer(host=deployment.webhook_bind, port=port)
                    stack.callback(server.close)
                    servers[port] = server
                player.endpoint = stack.enter_context(
                    WebhookEndpoint(
                        agency,
                        _secrets(member),
                        path=urlsplit(str(member.settings["url"])).path or "/",
                        server=server,
                        policy=profile.webhook.policy(
                            zlib.crc32(member.code.encode()),
                            _down_check(player),
                        ),
                    )
                )
            elif member.channel == "inbox":
                player.poller = stack.enter_context(
                    InboxPoller(
                        agency,
                        interval=profile.poll_interval,
                        idle_interval=profile.idle_interval,
                        acknowledge=profile.acknowledge,
                        lose_acks=profile.lose_acks,
                        seed=zlib.crc32(member.code.encode()),
                    )
                )
            else:
                player.poller = stack.enter_context(
                    AxisInbox(
                        agency,
                        axis,
                        interval=max(0.5, profile.poll_interval),
                        idle_interval=profile.idle_interval,
                        acknowledge=profile.acknowledge,
                    )
                )
            players[member.code] = player
    except BaseException:
        stack.close()
        raise
    return Cast(players, stack)


def _down_check(player: Player) -> Callable[[], bool]:
    """A webhook answers 503 while down in error mode, or when it cannot refuse connections
    because other agencies share its port."""

    def check() -> bool:
        return player.down and (player.profile.webhook.down_mode == "error" or player.shared_port)

    return check


def _port_of(member: Member) -> int:
    parts = urlsplit(str(member.settings["url"]))
    if parts.port is not None:
        return parts.port
    return 443 if parts.scheme == "https" else 80


def _secrets(member: Member) -> list[str]:
    secret = member.settings.get("secret")
    if isinstance(secret, str):
        return [secret]
    if isinstance(secret, list):
        return [str(item) for item in secret]
    return []


def _notation(member: Member) -> str:
    return "VP" if member.channel == "axis" else "UBND-VP"
