"""Behaviour profiles of simulated agency systems: how each answers, takes delivery, fails.

A :class:`Profile` joins the status answers of :class:`~simulators.agencies.Behaviour` (which
codes, when, in which order, repeated or malformed) with how the system takes delivery: its
webhook's answers (:class:`WebhookPlan`: slow, failing, timing out), how often it polls its
inbox or its axis queue, whether it acknowledges, and when it is down. It also says what the
hub should end up showing for every copy this agency receives, which is how scenarios check
their outcome.

Shipped profiles (:data:`PROFILES`; times in seconds at scale 1):

==================== ============================================================================
``prompt``           01 at once, 03 after 2 s, then 04, 05, 06 every 2 s; agrees to changes
``slow``             answers each webhook after 2 s, polls every 3 s; 01 after 5 s, 03 after 20 s,
                     06 after 50 s
``refuses``          01 at once, then 02 (refused); agrees to changes
``down``             as ``prompt``, but unreachable from 10 s to 40 s (connections refused, or
                     503 with ``down_mode: error``; inbox and axis queues not polled)
``flaky``            as ``prompt``; its webhook answers 25 % of deliveries 503 and lets 10 % time
                     out after storing them; its inbox loses 30 % of acknowledgements
``duplicate-statuses`` as ``prompt``, and posts every status twice more (same bytes, restamped)
``out-of-order``     as ``prompt``, with consecutive statuses swapped (03 before 01, 05 before 04)
``malformed-replies`` as ``prompt``, half of its statuses preceded by a malformed packet
``never-acks``       takes delivery and never answers; its inbox never acknowledges
==================== ============================================================================

A scenario file overrides any field by name (see :class:`ProfileSpec`) and scales the times.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulators.agencies import Behaviour, Reply

__all__ = [
    "PROFILES",
    "STATUS_RANK",
    "DownWindow",
    "Profile",
    "ProfileSpec",
    "WebhookPlan",
    "build_profile",
    "final_status",
]

STATUS_RANK = {"01": 1, "03": 3, "04": 4, "05": 5, "06": 6}
"""The forward progression of a new document's business status; 02 is final apart."""

Expected = Literal["delivered", "available", "parked"]


def final_status(codes: tuple[str, ...]) -> str | None:
    """The business status a copy ends in when its recipient answers ``codes`` (in any order):
    02 when refused, else the furthest step of 01 → 03 → 04 → 05 → 06."""
    if "02" in codes:
        return "02"
    steps = [code for code in codes if code in STATUS_RANK]
    return max(steps, key=STATUS_RANK.__getitem__) if steps else None


def change_answer(codes: tuple[str, ...], agree: str, refuse: str) -> str | None:
    """``agreed``/``refused`` for the first answer among ``codes``, None without one."""
    for code in codes:
        if code == agree:
            return "agreed"
        if code == refuse:
            return "refused"
    return None


@dataclass(frozen=True)
class DownWindow:
    """A time the system is down: from ``start`` seconds after the scenario began, for
    ``duration`` seconds (None: never back)."""

    start: float
    duration: float | None

    @property
    def end(self) -> float | None:
        """When it is back (None: never)."""
        return None if self.duration is None else self.start + self.duration

    def scaled(self, factor: float) -> DownWindow:
        """The window with its times multiplied by ``factor``."""
        duration = None if self.duration is None else self.duration * factor
        return DownWindow(self.start * factor, duration)


@dataclass(frozen=True)
class WebhookPlan:
    """How a webhook answers valid deliveries."""

    fail_share: float = 0.0
    """Share answered 503 (the hub retries)."""
    timeout_share: float = 0.0
    """Share stored, then answered only after ``hang_seconds`` (the hub times out and tries
    again with the same delivery id, which the agency recognises)."""
    hang_seconds: float = 5.0
    """Longer than the hub's ``LIENTHONG_WEBHOOK_READ_TIMEOUT`` for a timeout to happen."""
    reply_delay: float = 0.0
    """Every answer comes this late."""
    down_mode: Literal["refuse", "error"] = "refuse"
    """Down: refuse connections, or answer 503."""

    def policy(self, seed: int, down: Callable[[], bool]) -> Callable[[], Reply]:
        """A reply per request: 503 while ``down()`` in error mode, then the drawn failures."""
        draws = random.Random(seed)  # noqa: S311 - simulation draws
        lock = threading.Lock()

        def decide() -> Reply:
            if self.down_mode == "error" and down():
                return Reply(503, b'{"error": "the document system is down for maintenance"}')
            with lock:
                draw = draws.random()
            if draw < self.fail_share:
                return Reply(503, b'{"error": "temporarily overloaded, try again"}')
            if draw < self.fail_share + self.timeout_share:
                return Reply(200, b"{}", delay=self.hang_seconds)
            return Reply(200, b"{}", delay=self.reply_delay)

        return decide


@dataclass(frozen=True)
class Profile:
    """A simulated agency system: how it answers, takes delivery and fails."""

    name: str
    behaviour: Behaviour
    webhook: WebhookPlan = field(default_factory=WebhookPlan)
    poll_interval: float = 0.5
    """Pause between inbox (or axis queue) rounds after one that found something."""
    idle_interval: float = 2.0
    """Longest pause between rounds that find nothing."""
    acknowledge: bool = True
    """False: inbox deliveries are never acknowledged (they stay ``available``)."""
    lose_acks: float = 0.0
    """Share of inbox acknowledgements never sent (the delivery is offered again)."""
    down: tuple[DownWindow, ...] = ()
    description: str = ""

    def scaled(self, factor: float) -> Profile:
        """The profile with its answer times, reply delays and down windows multiplied by
        ``factor`` (polling periods and the hang of a timeout stay: the hub's are fixed)."""
        return replace(
            self,
            behaviour=self.behaviour.scaled(factor),
            webhook=replace(self.webhook, reply_delay=self.webhook.reply_delay * factor),
            down=tuple(window.scaled(factor) for window in self.down),
        )

    @property
    def recovers(self) -> bool:
        """Whether every down window ends."""
        return all(window.end is not None for window in self.down)

    def expected_delivery(self, channel: str) -> Expected:
        """The transport state a copy to this agency ends in: ``available`` when its inbox
        never acknowledges, ``parked`` when it goes down for good, else ``delivered``."""
        if not self.recovers and channel != "axis":
            return "parked"
        if channel == "inbox" and not self.acknowledge:
            return "available"
        return "delivered"

    def expected_status(self, channel: str) -> str | None:
        """The business status a new document reaches at this agency (None: no answer)."""
        if self.expected_delivery(channel) == "parked":
            return None
        return final_status(self.behaviour.new)

    def expected_change(self, kind: str) -> str | None:
        """How this agency answers a change request (``agreed``/``refused``, None: never)."""
        behaviour = self.behaviour
        if kind == "revoke":
            return change_answer(behaviour.revoke, "03", "02")
        if kind == "update":
            return change_answer(behaviour.update, "15", "16")
        return change_answer(behaviour.take_back, "15", "16")


_FULL = ("01", "03", "04", "05", "06")
_PROMPT_TIMES = (0.0, 2.0, 4.0, 6.0, 8.0)
_PROMPT = Behaviour(
    new=_FULL,
    timing=_PROMPT_TIMES,
    change_delay=1.0,
    revoke=("03",),
    update=("15",),
    take_back=("15",),
)

PROFILES: Mapping[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            "prompt",
            _PROMPT,
            description="01 at once, 03 after seconds, then 04, 05, 06; agrees to changes",
        ),
        Profile(
            "slow",
            replace(_PROMPT, timing=(5.0, 20.0, 30.0, 40.0, 50.0), change_delay=10.0),
            webhook=WebhookPlan(reply_delay=2.0),
            poll_interval=3.0,
            idle_interval=6.0,
            description="answers late, polls seldom, registers after 20 s, completes after 50 s",
        ),
        Profile(
            "refuses",
            replace(_PROMPT, new=("01", "02"), timing=(0.0, 3.0)),
            description="01 at once, then refuses (02)",
        ),
        Profile(
            "down",
            _PROMPT,
            down=(DownWindow(10.0, 30.0),),
            description="unreachable for a while (connections refused or 503), then back",
        ),
        Profile(
            "flaky",
            _PROMPT,
            webhook=WebhookPlan(fail_share=0.25, timeout_share=0.1),
            lose_acks=0.3,
            description="a share of 503s and timeouts; loses inbox acknowledgements",
        ),
        Profile(
            "duplicate-statuses",
            replace(_PROMPT, repeat=True),
            description="posts every status twice more (the same bytes, and restamped)",
        ),
        Profile(
            "out-of-order",
            replace(_PROMPT, order="swapped"),
            description="statuses swapped pairwise: 03 before 01, 05 before 04",
        ),
        Profile(
            "malformed-replies",
            replace(_PROMPT, malformed=0.5),
            description="half of its statuses preceded by a malformed packet",
        ),
        Profile(
            "never-acks",
            Behaviour(),
            acknowledge=False,
            description="takes delivery, never acknowledges its inbox, never answers",
        ),
    )
}
"""The shipped profiles by name."""


class _Window(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    at: float = Field(ge=0)
    """Seconds after the scenario began."""
    for_: float | None = Field(default=None, alias="for", gt=0)
    """How long; omitted: for good."""


_VALID_CODES = frozenset({"01", "02", "03", "04", "05", "06", "13", "15", "16"})


class ProfileSpec(BaseModel):
    """A profile as a scenario file writes it: a shipped profile (``base``) and the fields
    it changes. Times are seconds at scale 1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: str = "prompt"
    new: tuple[str, ...] | None = None
    revoke: tuple[str, ...] | None = None
    update: tuple[str, ...] | None = None
    take_back: tuple[str, ...] | None = None
    timing: tuple[float, ...] | None = None
    change_delay: float | None = Field(default=None, ge=0)
    order: Literal["as-listed", "swapped"] | None = None
    repeat: bool | None = None
    malformed: float | None = Field(default=None, ge=0, le=1)
    fail_share: float | None = Field(default=None, ge=0, le=1)
    timeout_share: float | None = Field(default=None, ge=0, le=1)
    hang_seconds: float | None = Field(default=None, gt=0)
    reply_delay: float | None = Field(default=None, ge=0)
    down_mode: Literal["refuse", "error"] | None = None
    poll_interval: float | None = Field(default=None, gt=0)
    idle_interval: float | None = Field(default=None, gt=0)
    acknowledge: bool | None = None
    lose_acks: float | None = Field(default=None, ge=0, le=1)
    down: tuple[_Window, ...] | None = None

    @model_validator(mode="after")
    def _known(self) -> ProfileSpec:
        if self.base not in PROFILES:
            raise ValueError(
                f"base: no shipped profile {self.base!r}; known: {', '.join(PROFILES)}"
            )
        for name in ("new", "revoke", "update", "take_back"):
            for code in getattr(self, name) or ():
                if code not in _VALID_CODES:
                    raise ValueError(f"{name}: {code!r} is not a status code (01-06, 13, 15, 16)")
        if (self.fail_share or 0) + (self.timeout_share or 0) > 1:
            raise ValueError("fail_share + timeout_share must not exceed 1")
        return self


_BEHAVIOUR_FIELDS = (
    "new",
    "revoke",
    "update",
    "take_back",
    "timing",
    "change_delay",
    "order",
    "repeat",
    "malformed",
)
_WEBHOOK_FIELDS = ("fail_share", "timeout_share", "hang_seconds", "reply_delay", "down_mode")
_PROFILE_FIELDS = ("poll_interval", "idle_interval", "acknowledge", "lose_acks")


def build_profile(name: str, spec: ProfileSpec | Mapping[str, Any] | None = None) -> Profile:
    """The profile called ``name``: a shipped one, or ``spec`` applied to its base.

    Raises:
        ValueError: ``name`` is not shipped and no ``spec`` is given, or the spec is invalid.
    """
    if spec is None:
        if name not in PROFILES:
            raise ValueError(f"no profile {name!r}; known: {', '.join(PROFILES)}")
        return PROFILES[name]
    chosen = spec if isinstance(spec, ProfileSpec) else ProfileSpec.model_validate(spec)
    base = PROFILES[chosen.base]
    given = {key: value for key, value in chosen.model_dump().items() if value is not None}
    behaviour = replace(
        base.behaviour, **{key: given[key] for key in _BEHAVIOUR_FIELDS if key in given}
    )
    webhook = replace(base.webhook, **{key: given[key] for key in _WEBHOOK_FIELDS if key in given})
    down = base.down
    if chosen.down is not None:
        down = tuple(DownWindow(window.at, window.for_) for window in chosen.down)
    return replace(
        base,
        name=name,
        behaviour=behaviour,
        webhook=webhook,
        down=down,
        description=f"{base.description} (changed by the scenario)",
        **{key: given[key] for key in _PROFILE_FIELDS if key in given},
    )
