"""From a scenario and a directory to a timed list of actions: pure and reproducible.

:class:`Roster` is the directory as scenarios see it (codes, levels, parents, channels) and
answers selectors; :func:`make_plan` draws, with the scenario's seed, when each document is
sent, by whom and to whom, which documents each change touches, and when each fault is set.
The same scenario, directory, scale and seed always give the same plan.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.directory import DirectoryData
from simulators.axis.faults import Faults
from simulators.scenario.spec import Change, Scenario, ScenarioError, Selector

__all__ = [
    "Action",
    "ChangeAction",
    "FaultAction",
    "Member",
    "Plan",
    "Roster",
    "SendAction",
    "make_plan",
]


@dataclass(frozen=True)
class Member:
    """An agency of the directory."""

    code: str
    name: str
    level: int
    parent: str | None
    channel: str
    settings: Mapping[str, Any] = field(default_factory=dict, repr=False)


class Roster:
    """The agencies of a directory and the names of its levels."""

    def __init__(
        self,
        members: Iterable[Member],
        level_names: Mapping[int, str],
        *,
        other_levels: Mapping[str, str] | None = None,
    ) -> None:
        self.members = {member.code: member for member in members}
        self.level_names = dict(level_names)
        self.other_levels = dict(other_levels or {})
        """The level names of members on another structure's levels (agencies a
        reorganisation creates), by code."""

    @classmethod
    def from_directory(cls, data: DirectoryData) -> Roster:
        """The roster of a directory file's active agencies."""
        names = {level.level: level.name for level in data.levels}
        members = []
        for entry in data.agencies:
            if not entry.active:
                continue
            if entry.level_name:
                names.setdefault(entry.level, entry.level_name)
            members.append(
                Member(
                    entry.code,
                    entry.name,
                    entry.level,
                    entry.parent,
                    entry.channel.value,
                    dict(entry.settings),
                )
            )
        return cls(members, names)

    def level_name(self, level: int) -> str:
        """The name of a level, or its number."""
        return self.level_names.get(level, f"level {level}")

    def level_of(self, code: str) -> tuple[int, str]:
        """The level of a member with its name (0 for a code the roster does not hold)."""
        member = self.members.get(code)
        if member is None:
            return (0, self.level_name(0))
        name = self.other_levels.get(code) or self.level_name(member.level)
        return (member.level, name)

    def select(self, selector: Selector, *, sender: Member | None = None) -> list[Member]:
        """The members ``selector`` picks, in directory order (never ``sender`` itself)."""
        picked = []
        for member in self.members.values():
            if sender is not None and member.code == sender.code:
                continue
            if selector.codes is not None and member.code not in selector.codes:
                continue
            if selector.level is not None and member.level not in selector.level:
                continue
            if selector.channel is not None and member.channel not in selector.channel:
                continue
            if selector.match is not None and not fnmatch.fnmatchcase(member.code, selector.match):
                continue
            if selector.parent is not None and member.parent != selector.parent:
                continue
            if member.code in selector.exclude:
                continue
            if selector.below_sender and (sender is None or member.parent != sender.code):
                continue
            if selector.above_sender and (sender is None or member.code != sender.parent):
                continue
            picked.append(member)
        return picked


@dataclass(frozen=True)
class SendAction:
    """Send a new document."""

    at: float
    flow: str
    index: int
    """Its number within the flow, from 0."""
    sender: str
    recipients: tuple[str, ...]
    subject: str

    @property
    def key(self) -> tuple[str, int]:
        """The document's key: (flow, index)."""
        return (self.flow, self.index)


@dataclass(frozen=True)
class ChangeAction:
    """Revoke, update, replace or take back a document sent earlier."""

    at: float
    kind: str
    target: tuple[str, int]
    """The (flow, index) of the document changed."""
    recipient: str | None
    """Take-back: the recipient asked to give the document back."""
    reason: str | None
    change: int
    """The change's position in the scenario file."""


@dataclass(frozen=True)
class FaultAction:
    """Set the simulated axis's faults."""

    at: float
    faults: Faults
    fault: int


Action = SendAction | ChangeAction | FaultAction


@dataclass(frozen=True)
class Plan:
    """Every action of a scenario run, in time order."""

    actions: tuple[Action, ...]
    duration: float

    @property
    def sends(self) -> list[SendAction]:
        """The new documents."""
        return [action for action in self.actions if isinstance(action, SendAction)]

    @property
    def changes(self) -> list[ChangeAction]:
        """The changes."""
        return [action for action in self.actions if isinstance(action, ChangeAction)]

    @property
    def faults(self) -> list[FaultAction]:
        """The faults."""
        return [action for action in self.actions if isinstance(action, FaultAction)]

    def participants(self) -> set[str]:
        """Every agency that sends or receives something."""
        codes: set[str] = set()
        for send in self.sends:
            codes.add(send.sender)
            codes.update(send.recipients)
        return codes


def make_plan(
    scenario: Scenario,
    roster: Roster,
    *,
    scale: float = 1.0,
    available: Callable[[Member], bool] | None = None,
) -> Plan:
    """The actions of ``scenario`` over ``roster`` under ``scale``; only ``available``
    members (those a simulated system can play) send and receive.

    Raises:
        ScenarioError: a selector picks nobody, or a change finds too few documents.
    """
    if scale <= 0:
        raise ScenarioError(f"the scale must be positive, not {scale:g}")
    usable = available or (lambda member: True)
    duration = scenario.duration * scale
    actions: list[Action] = []
    sends: dict[str, list[SendAction]] = {}
    for position, flow in enumerate(scenario.flows):
        draws = random.Random(f"{scenario.seed}:flow:{flow.name}")  # noqa: S311 - reproducible
        senders = [m for m in roster.select(flow.from_) if usable(m)]
        if not senders:
            raise ScenarioError(
                f"flows[{position}].from: no agency of the directory that this run can play "
                f"matches {_shown(flow.from_)}"
            )
        choices = {
            sender.code: [m for m in roster.select(flow.to, sender=sender) if usable(m)]
            for sender in senders
        }
        senders = [sender for sender in senders if choices[sender.code]]
        if not senders:
            raise ScenarioError(
                f"flows[{position}].to: no agency of the directory matches {_shown(flow.to)} "
                "for any sender"
            )
        start, end = flow.window if flow.window is not None else (0.0, scenario.duration)
        start, end = start * scale, end * scale
        count = scenario.scaled_count(flow.count, scale)
        step = (end - start) / count
        made = []
        for index in range(count):
            sender = draws.choice(senders)
            candidates = choices[sender.code]
            least, most = flow.recipients
            wanted = min(len(candidates), draws.randint(least, most))
            recipients = tuple(m.code for m in draws.sample(candidates, wanted))
            at = start + (index + draws.random()) * step
            made.append(SendAction(at, flow.name, index, sender.code, recipients, flow.subject))
        sends[flow.name] = made
        actions.extend(made)
    taken: set[tuple[str, int]] = set()
    for position, change in enumerate(scenario.changes):
        actions.extend(_change_actions(scenario, position, change, sends, taken, scale))
    for position, fault in enumerate(scenario.faults):
        faults = fault.axis.model_copy(
            update={"down_for_seconds": fault.axis.down_for_seconds * scale}
        )
        actions.append(FaultAction(fault.at * scale, faults, position))
        if fault.for_ is not None:
            actions.append(FaultAction((fault.at + fault.for_) * scale, Faults(), position))
    actions.sort(key=lambda action: action.at)
    return Plan(tuple(actions), duration)


def _change_actions(
    scenario: Scenario,
    position: int,
    change: Change,
    sends: Mapping[str, list[SendAction]],
    taken: set[tuple[str, int]],
    scale: float,
) -> list[ChangeAction]:
    draws = random.Random(f"{scenario.seed}:change:{position}")  # noqa: S311 - reproducible
    at = change.at * scale
    latest = at - change.after * scale
    eligible = [s for s in sends[change.of] if s.at <= latest and s.key not in taken]
    count = scenario.scaled_count(change.count, scale)
    if len(eligible) < count:
        raise ScenarioError(
            f"changes[{position}]: flow {change.of!r} sends {len(eligible)} document(s) not "
            f"already changed before {latest:g} s (at - after), fewer than count {count}"
        )
    chosen = sorted(draws.sample(eligible, count), key=lambda send: send.at)
    made = []
    for target in chosen:
        taken.add(target.key)
        recipient = draws.choice(target.recipients) if change.kind == "take-back" else None
        made.append(ChangeAction(at, change.kind, target.key, recipient, change.reason, position))
    return made


def _shown(selector: Selector) -> str:
    given = selector.model_dump(exclude_defaults=True)
    return "{" + ", ".join(f"{key}: {value}" for key, value in given.items()) + "}"
