"""A scenario's reorganisation: dated directory changes that take effect during the run.

The change file (a shipped sample such as ``hanoi-2025``, a file beside the shipped scenarios,
or a path) is recorded through the operator API when the run starts, every change dated at
the same moment, ``at`` seconds later; ids get the run's number, so a second run against the
same hub records changes of its own (which fail if the first run already ended the agencies).
The agencies the changes create are played on webhooks, each on a port and with a secret of
its own, and answer with the API token of one of the agencies they succeed (the change
carries its tokens). Where each code leads once the change took effect says where a document
addressed to it must land; :func:`structure_figures` reads the console's figures of the day
(as a viewer) to check that each part of it is counted by its own structure.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from hub.db.models import ChangeKind
from hub.directory import SAMPLE_CHANGES, ChangeEntry, read_change_file, sample_changes
from simulators.hubprocess import free_port
from simulators.scenario.deployment import Deployment
from simulators.scenario.plan import Member, Roster
from simulators.scenario.spec import Reorganisation, ScenarioError, shipped_scenarios

__all__ = ["PlannedReorganisation", "StructurePart", "structure_figures"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_MOST_STEPS = 16


def _change_file(reference: str) -> Path:
    if reference in SAMPLE_CHANGES:
        return sample_changes(reference)
    path = Path(reference)
    if path.exists():
        return path
    beside = next(iter(shipped_scenarios().values()), None)
    if beside is not None and (beside.parent / reference).exists():
        return beside.parent / reference
    raise ScenarioError(f"reorganisation.changes: no sample, shipped file or file {reference!r}")


@dataclass
class PlannedReorganisation:
    """The changes of one run, and what they make of each code."""

    spec: Reorganisation
    at: float
    """Seconds after the start (scaled)."""
    entries: tuple[ChangeEntry, ...]
    members: dict[str, Member] = field(default_factory=dict)
    """The agencies the changes create, played on webhooks."""
    tokens: dict[str, str] = field(default_factory=dict)
    """The token each new agency answers with (a predecessor's)."""
    successors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    in_flight: dict[str, str] = field(default_factory=dict)
    levels: dict[int, str] | None = None
    """The levels in force after the change (None: unchanged)."""

    @classmethod
    def of(
        cls, spec: Reorganisation, roster: Roster, deployment: Deployment, *, scale: float
    ) -> PlannedReorganisation:
        """The reorganisation of a scenario over the deployment's directory.

        Raises:
            ScenarioError: the change file cannot be found or read.
        """
        try:
            entries = read_change_file(_change_file(spec.changes)).entries()
        except Exception as exc:
            raise ScenarioError(f"reorganisation.changes: {exc}") from exc
        planned = cls(spec=spec, at=spec.at * scale, entries=entries)
        host = _webhook_host(roster)
        for entry in entries:
            planned._take(entry, roster, deployment, host)
        return planned

    def _take(self, entry: ChangeEntry, roster: Roster, deployment: Deployment, host: str) -> None:
        if entry.kind is ChangeKind.LEVELS:
            self.levels = {level.level: level.name for level in entry.levels}
        elif entry.kind is ChangeKind.MERGE:
            for code in entry.from_:
                self.successors[code] = entry.into
        elif entry.kind is ChangeKind.SPLIT and entry.code is not None:
            self.successors[entry.code] = entry.into
            if entry.in_flight is not None:
                self.in_flight[entry.code] = entry.in_flight
        elif entry.kind is ChangeKind.DISSOLVE:
            for code in entry.subjects:
                self.successors[code] = (entry.successor,) if entry.successor else ()
        elif entry.kind is ChangeKind.RECODE and entry.code and entry.new_code:
            self.successors[entry.code] = (entry.new_code,)
        predecessors = [*entry.from_, *entry.subjects]
        token = next(
            (deployment.tokens[code] for code in predecessors if code in deployment.tokens), None
        )
        for item in entry.agencies:
            if token is None:
                continue
            port = free_port()
            settings = {"url": f"http://{host}:{port}/edxml", "secret": secrets.token_hex(16)}
            self.members[item.code] = Member(
                item.code, item.name, item.level, item.parent, "webhook", settings
            )
            self.tokens[item.code] = token

    def landing(self, code: str) -> str | None:
        """Where a copy addressed to ``code`` lands once the change took effect: the code
        itself, its single successor, a split's successor for what was on its way; None when
        there is none."""
        current = code
        for _ in range(_MOST_STEPS):
            if current not in self.successors:
                return current
            onward = self.in_flight.get(current) or (
                self.successors[current][0] if len(self.successors[current]) == 1 else None
            )
            if onward is None:
                return None
            current = onward
        return None

    def refusal(self, code: str) -> tuple[str, ...]:
        """The successors a refusal of a document to ``code`` names (every agency the code
        leads to, in force after the change)."""
        found: set[str] = set()
        queue = [code]
        seen = {code}
        while queue:
            current = queue.pop()
            for onward in self.successors.get(current, ()):
                if onward in seen:
                    continue
                seen.add(onward)
                if onward in self.successors:
                    queue.append(onward)
                else:
                    found.add(onward)
        return tuple(sorted(found))

    def document(self, moment: datetime, run: int) -> str:
        """The change file to record: every change at ``moment``, its id marked with the run,
        the new agencies on their simulated webhooks with their predecessors' tokens."""
        changes: list[dict[str, Any]] = []
        for entry in self.entries:
            item = entry.model_dump(mode="json", by_alias=True, exclude_unset=True)
            item["id"] = f"{entry.key}.run{run}"[:64]
            item["effective"] = moment.isoformat()
            if entry.agencies:
                item["agencies"] = [
                    {**described, **self._channel(described["code"])}
                    for described in item["agencies"]
                ]
                if any(agency.code in self.members for agency in entry.agencies):
                    item["carry_tokens"] = True
            changes.append(item)
        return yaml.safe_dump({"changes": changes}, allow_unicode=True, sort_keys=False)

    def _channel(self, code: str) -> dict[str, Any]:
        member = self.members.get(code)
        if member is None:
            return {}
        return {"channel": "webhook", "settings": dict(member.settings)}


def _webhook_host(roster: Roster) -> str:
    for member in roster.members.values():
        url = str(member.settings.get("url") or "")
        if member.channel == "webhook" and url:
            return urlsplit(url).hostname or "127.0.0.1"
    return "127.0.0.1"


@dataclass(frozen=True)
class StructurePart:
    """One part of a day as the console counts it."""

    start: datetime
    levels: dict[int, str]
    received: dict[int, int]
    """Documents received per level."""


def structure_figures(deployment: Deployment, day: date) -> list[StructurePart]:
    """The console's figures of ``day`` by structure (its CSV export), read as a viewer.

    Raises:
        ScenarioError: the deployment has no console account.
        httpx.HTTPError: the console did not answer as expected.
    """
    account = deployment.console
    if account is None:
        raise ScenarioError(
            "the deployment has no console account: run `lienthong-sim setup` again"
        )
    with httpx.Client(base_url=deployment.hub_url, timeout=30) as client:
        form = client.get("/console/login")
        found = _CSRF.search(form.text)
        if found is None:
            raise ScenarioError(f"no sign-in form at {deployment.hub_url}/console/login")
        signed = client.post(
            "/console/login",
            data={
                "name": account.user,
                "password": account.password,
                "csrf_token": found.group(1),
                "next": "/console/",
            },
        )
        if signed.status_code != 303:
            raise ScenarioError(f"the console refused the sign-in ({signed.status_code})")
        answer = client.get("/console/structure/export.csv", params={"day": day.isoformat()})
        answer.raise_for_status()
    parts: dict[str, StructurePart] = {}
    for row in csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))):
        if not row["level"]:
            continue
        part = parts.setdefault(
            row["period_start"],
            StructurePart(datetime.fromisoformat(row["period_start"]), {}, {}),
        )
        level = int(row["level"])
        part.levels[level] = row["level_name"]
        part.received[level] = int(row["received"] or 0)
    return sorted(parts.values(), key=lambda part: part.start)
