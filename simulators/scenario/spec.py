"""Scenario files: what traffic to send, who behaves how, what faults to inject, what to expect.

A scenario is YAML (shipped ones live in ``simulators/scenarios/``; :func:`load_scenario`
takes a path or a shipped name)::

    name: city-day
    description: A day of the city's traffic, compressed.
    duration: 90                 # seconds of traffic at scale 1
    seed: 7
    profiles:                    # optional: profiles of this scenario (a shipped base, changed)
      late-ward: {base: slow, timing: [8, 25, 35, 45, 55]}
    cast:                        # who behaves how: the first matching rule wins
      default: prompt
      rules:
        - {agencies: {level: 4}, profile: late-ward}
        - {agencies: {codes: [000.00.03.H26]}, profile: refuses}
    flows:                       # new documents
      - name: city-to-departments
        from: {codes: [000.00.01.H26]}
        to: {level: 2}
        recipients: [1, 3]       # per document: a number, or [least, most]
        count: 20
        window: [0, 80]          # when, in seconds (default: the whole duration)
    changes:                     # revokes, updates, replacements, take-backs of sent documents
      - {kind: revoke, of: city-to-departments, count: 2, at: 60}
    faults:                      # the simulated axis's fault injection (simulators.axis.Faults)
      - {at: 30, axis: {down_for_seconds: 20}}
    reorganisation:              # dated directory changes that take effect during the run
      changes: hanoi-2025        # a shipped sample, a file beside the shipped scenarios, a path
      at: 30                     # every change of the file takes effect then
    expect:
      settle_within: 120         # seconds after the last action for everything to settle
      delivered: true            # every copy reaches the transport state its recipient's
      statuses: true             #   profile implies, and the business status
      changes: true              # every change request answered as the profile says
      no_duplicates: true        # no recipient keeps one packet under two delivery ids
      retried: {min: 1}          # copies that needed more than one attempt
      parked: {max: 0}
      landed: true               # with a reorganisation: each copy lands where its flow's
                                 #   ``lands`` says (addressed, successor, refused)
      structure: true            # with a reorganisation: the console counts the parts of the
                                 #   day before and after it by their own levels

Selectors (``from``, ``to``, ``agencies``) hold when every condition given holds: ``codes``,
``level`` (a number or a list), ``channel`` (``webhook``, ``inbox``, ``amqp``, ``axis``),
``match`` (a glob over codes, e.g. ``000.*.22.H26``), ``parent``, ``exclude``, and in ``to``
only ``below_sender`` (the sender's children) or ``above_sender`` (its parent).

A flow's ``lands`` says where its copies must end up when a reorganisation happens during the
run: ``addressed`` (the default: the agency named), ``successor`` (the agency the changes make
carry the code on: a merge's successor, a dissolved agency's successor, the successor of a
split that takes what was on its way) or ``refused`` (the hub refuses the document naming the
successors: a split or dissolved code addressed after the change).

A scale factor multiplies every time (the duration, windows, change and fault times, profile
timings, down windows, ``settle_within`` — which never drops below :data:`MIN_SETTLE`) and
every count (at least 1 each), so tests run a shortened form of the same scenario.
Validation names the field at fault, e.g. ``flows[1].count: must be at least 1``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulators.axis.faults import Faults
from simulators.profiles import PROFILES, Profile, ProfileSpec, build_profile

__all__ = [
    "MIN_SETTLE",
    "Cast",
    "CastRule",
    "Change",
    "Expectations",
    "Fault",
    "Flow",
    "Landing",
    "Range",
    "Reorganisation",
    "Scenario",
    "ScenarioError",
    "Selector",
    "load_scenario",
    "parse_scenario",
    "shipped_scenarios",
]

MIN_SETTLE = 20.0
"""Least time, in seconds, a scaled scenario leaves for the hub to settle."""


class ScenarioError(ValueError):
    """Raised when a scenario file cannot be read or describes something impossible."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


ChannelName = Literal["webhook", "inbox", "amqp", "axis", "hub"]
Landing = Literal["addressed", "successor", "refused"]


class Selector(_Model):
    """Which agencies of the directory: every condition given must hold."""

    codes: tuple[str, ...] | None = None
    level: tuple[int, ...] | None = None
    channel: tuple[ChannelName, ...] | None = None
    match: str | None = None
    """A glob over codes (``*``, ``?``, ``[...]``)."""
    parent: str | None = None
    exclude: tuple[str, ...] = ()
    below_sender: bool = False
    """In ``to`` only: the sender's children."""
    above_sender: bool = False
    """In ``to`` only: the sender's parent."""

    @field_validator("level", "channel", "codes", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | int) else value

    @model_validator(mode="after")
    def _something(self) -> Selector:
        if self.below_sender and self.above_sender:
            raise ValueError("below_sender and above_sender cannot both hold")
        return self


class Flow(_Model):
    """New documents: ``count`` of them from agencies of ``from`` to agencies of ``to``."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    from_: Selector = Field(alias="from")
    to: Selector
    count: int = Field(ge=1)
    recipients: tuple[int, int] = (1, 1)
    """How many recipients each document has: a number, or [least, most]."""
    window: tuple[float, float] | None = None
    """Seconds after the start within which they are sent (default: the whole duration)."""
    subject: str = "Về việc triển khai nhiệm vụ trọng tâm"
    lands: Landing = "addressed"
    """Where its copies end up when the run's reorganisation ends their recipients."""

    @field_validator("recipients", mode="before")
    @classmethod
    def _number_or_range(cls, value: Any) -> Any:
        return [value, value] if isinstance(value, int) else value

    @model_validator(mode="after")
    def _ordered(self) -> Flow:
        least, most = self.recipients
        if least < 1 or most < least:
            raise ValueError("recipients: give a number ≥ 1, or [least, most] with least ≤ most")
        if self.window is not None and not 0 <= self.window[0] <= self.window[1]:
            raise ValueError("window: give [start, end] with 0 ≤ start ≤ end")
        return self


class Change(_Model):
    """Revokes, updates, replacements or take-backs of documents a flow sent earlier."""

    kind: Literal["revoke", "update", "replace", "take-back"]
    of: str = Field(min_length=1)
    """The flow whose documents are changed."""
    count: int = Field(default=1, ge=1)
    at: float = Field(ge=0)
    """Seconds after the start; only documents sent before ``at - after`` are chosen."""
    after: float = Field(default=5.0, ge=0)
    """Least age, in seconds, of a document when it is changed."""
    reason: str | None = None


class Fault(_Model):
    """A fault of the simulated axis, set at ``at`` (``POST /_sim/faults``) and cleared
    ``for`` seconds later (default: at the end of the run)."""

    at: float = Field(ge=0)
    axis: Faults
    for_: float | None = Field(default=None, alias="for", gt=0)


class Reorganisation(_Model):
    """Dated directory changes that take effect ``at`` seconds after the start."""

    changes: str = Field(min_length=1)
    """A change file: a shipped sample (``hanoi-2025``), a file beside the shipped scenarios,
    or a path."""
    at: float = Field(ge=0)


class Range(_Model):
    """A count that must lie between ``min`` and ``max`` (each optional)."""

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    def holds(self, value: int) -> bool:
        """Whether ``value`` is within the range."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        """The range in words."""
        if self.min is not None and self.max is not None:
            return f"between {self.min} and {self.max}"
        if self.min is not None:
            return f"at least {self.min}"
        return f"at most {self.max}" if self.max is not None else "any number"


class Expectations(_Model):
    """What must hold once the scenario settled."""

    settle_within: float = Field(default=120.0, gt=0)
    delivered: bool = True
    statuses: bool = True
    changes: bool = True
    no_duplicates: bool = True
    retried: Range | None = None
    parked: Range | None = None
    refused_replies: Range | None = None
    """Malformed answers the hub refused (400)."""
    redelivered: Range | None = None
    """Offers of delivery ids the recipient already held (deduplicated)."""
    landed: bool = True
    """With a reorganisation: each copy lands where its flow's ``lands`` says."""
    structure: bool = True
    """With a reorganisation: the console's figures of the day, before and after the change,
    each by its own levels."""


class CastRule(_Model):
    """Agencies matching ``agencies`` run ``profile``."""

    agencies: Selector
    profile: str


class Cast(_Model):
    """Who behaves how: the first matching rule, else ``default``."""

    default: str = "prompt"
    rules: tuple[CastRule, ...] = ()


class Scenario(_Model):
    """A scenario file, checked."""

    name: str = Field(min_length=1)
    description: str = ""
    duration: float = Field(gt=0)
    seed: int = 1
    profiles: dict[str, ProfileSpec] = Field(default_factory=dict)
    cast: Cast = Cast()
    flows: tuple[Flow, ...] = Field(min_length=1)
    changes: tuple[Change, ...] = ()
    faults: tuple[Fault, ...] = ()
    reorganisation: Reorganisation | None = None
    expect: Expectations = Expectations()

    @model_validator(mode="after")
    def _coherent(self) -> Scenario:
        names = [flow.name for flow in self.flows]
        for index, flow in enumerate(self.flows):
            if names.index(flow.name) != index:
                raise _FieldError(f"flows[{index}].name", f"{flow.name!r} is used twice")
            if flow.window is not None and flow.window[1] > self.duration:
                raise _FieldError(
                    f"flows[{index}].window",
                    f"ends at {flow.window[1]:g} s, after the duration ({self.duration:g} s)",
                )
            for side, selector in (("from", flow.from_), ("to", flow.to)):
                if side == "from" and (selector.below_sender or selector.above_sender):
                    raise _FieldError(
                        f"flows[{index}].from", "below_sender/above_sender belong in 'to'"
                    )
        for index, change in enumerate(self.changes):
            if change.of not in names:
                raise _FieldError(
                    f"changes[{index}].of", f"no flow {change.of!r}; flows: {', '.join(names)}"
                )
            if change.at > self.duration:
                raise _FieldError(
                    f"changes[{index}].at",
                    f"{change.at:g} s is after the duration ({self.duration:g} s)",
                )
        for index, fault in enumerate(self.faults):
            if fault.at > self.duration:
                raise _FieldError(
                    f"faults[{index}].at",
                    f"{fault.at:g} s is after the duration ({self.duration:g} s)",
                )
        if self.reorganisation is not None and self.reorganisation.at > self.duration:
            raise _FieldError(
                "reorganisation.at",
                f"{self.reorganisation.at:g} s is after the duration ({self.duration:g} s)",
            )
        for index, flow in enumerate(self.flows):
            if flow.lands != "addressed" and self.reorganisation is None:
                raise _FieldError(
                    f"flows[{index}].lands",
                    f"{flow.lands!r} needs a 'reorganisation' that ends its recipients",
                )
        known = set(PROFILES) | set(self.profiles)
        for where, name in [("cast.default", self.cast.default)] + [
            (f"cast.rules[{index}].profile", rule.profile)
            for index, rule in enumerate(self.cast.rules)
        ]:
            if name not in known:
                raise _FieldError(where, f"no profile {name!r}; known: {', '.join(sorted(known))}")
        return self

    def profile(self, name: str, *, scale: float = 1.0) -> Profile:
        """The profile called ``name`` (this scenario's, else a shipped one), scaled."""
        spec = self.profiles.get(name)
        return build_profile(name, spec).scaled(scale)

    def scaled_count(self, count: int, scale: float) -> int:
        """A count under ``scale``: at least 1."""
        return max(1, math.ceil(count * scale - 1e-9))

    def settle_seconds(self, scale: float) -> float:
        """Time left to settle under ``scale``."""
        return max(MIN_SETTLE, self.expect.settle_within * scale)


class _FieldError(ValueError):
    """A coherence problem of one field (its location is reported with it)."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}")


def _location(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = "from" if part == "from_" else part
            text += f".{name}" if text else name
    return text


def _messages(error: ValidationError) -> list[str]:
    found = []
    errors = error.errors()
    for item in errors:
        deeper = [
            other["loc"]
            for other in errors
            if len(other["loc"]) > len(item["loc"])
            and other["loc"][: len(item["loc"])] == item["loc"]
        ]
        if item["type"] == "too_short" and deeper:
            continue  # an item failed, so fewer items survived: that item's error says it
        location = _location(tuple(item["loc"]))
        message = str(item["msg"]).removeprefix("Value error, ")
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, _FieldError):
            found.append(str(cause))
        elif location:
            found.append(f"{location}: {message}")
        else:
            found.append(message)
    return found


def parse_scenario(data: Any, *, source: str = "<scenario>") -> Scenario:
    """A scenario from the decoded content of a scenario file.

    Raises:
        ScenarioError: naming every field at fault.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a scenario file is a mapping (name, duration, flows, …)")
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        problems = _messages(exc)
        raise ScenarioError(f"{source}: " + "; ".join(problems)) from exc


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios shipped in ``simulators/scenarios``, by name."""
    folder = resources.files("simulators") / "scenarios"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            found[entry.name.removesuffix(".yaml")] = Path(str(entry))
    return dict(sorted(found.items()))


def load_scenario(reference: str | Path) -> Scenario:
    """A scenario from a file path, or a shipped one by name (``city-day``).

    Raises:
        ScenarioError: the file cannot be read, is not YAML, or is invalid.
    """
    path = Path(reference)
    if not path.exists():
        shipped = shipped_scenarios()
        if str(reference) not in shipped:
            raise ScenarioError(
                f"no scenario file {reference} and no shipped scenario of that name; "
                f"shipped: {', '.join(shipped)}"
            )
        path = shipped[str(reference)]
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read the scenario file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path.name} is not YAML: {exc}") from exc
    return parse_scenario(data, source=path.name)
