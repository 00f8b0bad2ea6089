"""Play a scenario against a running hub, wait for it to settle, check its expectations.

:class:`ScenarioRunner` plans the run (:func:`~simulators.scenario.plan.make_plan`), starts the
simulated agency systems with their profiles (or uses a running :class:`Cast`), sends each
document, change and fault at its time from a small pool of threads (posting the same bytes
again while the hub or the axis is unreachable, so nothing is sent twice as two documents),
then waits until the hub's timelines show what the profiles imply or ``settle_within`` runs
out, and reports: a summary per level, every check with what failed, and counters.
A change waits until its document settled at its recipients (their final status reached the
sender), as a clerk revokes a registered document: a revoke's 03/02 would otherwise be taken
for a registration or a refusal.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from edxml import DocumentPacket
from simulators.agencies import (
    Accepted,
    Agency,
    HubAnswerError,
    HubClient,
    WebhookServer,
    document_packet,
    is_transient,
    replacement_packet,
    revoke_packet,
    take_back_packet,
    update_packet,
)
from simulators.profiles import Profile
from simulators.scenario.cast import Cast, open_cast, playable
from simulators.scenario.deployment import Deployment
from simulators.scenario.observe import (
    CATEGORIES,
    ChangeRecord,
    DocumentRecord,
    LevelRow,
    Tracker,
    judge,
    render_table,
    summarize,
)
from simulators.scenario.plan import (
    Action,
    ChangeAction,
    FaultAction,
    Member,
    Plan,
    Roster,
    SendAction,
    make_plan,
)
from simulators.scenario.spec import Range, Scenario

__all__ = ["Check", "Progress", "RunReport", "ScenarioRunner", "profile_assignment"]

_log = structlog.get_logger(__name__)

SEND_RETRY_SECONDS = 180.0
"""How long a post keeps being retried while the hub or the axis is unreachable."""
HUB_CHECK_SECONDS = 4.0
"""Pause between two readings of the hub's timelines while waiting to settle."""
_SHOWN_PROBLEMS = 8


@dataclass(frozen=True)
class Progress:
    """Where a run stands, for a progress line."""

    scenario: str
    phase: str
    """``sending``, ``settling`` or ``checking``."""
    elapsed: float
    actions_done: int
    actions: int
    copies: int
    """Copies of new documents addressed so far."""
    received: int
    """Copies the recipients' systems hold."""
    statuses: Mapping[str, int]
    """Copies whose sender received 01, 03, 06, 02 from the recipient."""
    unsettled: int | None = None
    """Documents the hub does not yet show as expected (None: not read yet)."""

    def line(self) -> str:
        """One line of text."""
        minutes, seconds = divmod(int(self.elapsed), 60)
        parts = [
            f"{self.scenario} {minutes}:{seconds:02d} {self.phase}",
            f"actions {self.actions_done}/{self.actions}",
            f"copies {self.received}/{self.copies} received",
            " ".join(f"{code} {count}" for code, count in self.statuses.items()),
        ]
        if self.unsettled is not None:
            parts.append(f"unsettled {self.unsettled}")
        return " · ".join(parts)


@dataclass(frozen=True)
class Check:
    """One expectation and what failed it."""

    name: str
    ok: bool
    detail: str
    problems: tuple[str, ...] = ()


@dataclass
class RunReport:
    """What a scenario run did and whether it met its expectations."""

    scenario: str
    scale: float
    rows: list[LevelRow]
    checks: list[Check]
    counters: dict[str, int]
    elapsed: float
    settled_after: float | None
    """Seconds after the last action until the hub showed everything as expected."""

    @property
    def ok(self) -> bool:
        """Whether every expectation held."""
        return all(check.ok for check in self.checks)

    def render(self) -> str:
        """The summary table, the checks and the counters, as text."""
        counters = self.counters
        settled = (
            f"settled {self.settled_after:.1f} s after the last action"
            if self.settled_after is not None
            else "did not settle in time"
        )
        lines = [
            f"scenario {self.scenario} (scale {self.scale:g}): {counters['documents']} documents, "
            f"{counters['changes']} changes, {counters['faults']} faults in "
            f"{self.elapsed:.1f} s; {settled}",
            "",
            render_table(self.rows),
            "",
            "delivery time: from acceptance by the hub to delivered (inbox: acknowledged); "
            "axis copies: handed to the axis",
            "",
        ]
        for check in self.checks:
            mark = "ok  " if check.ok else "FAIL"
            lines.append(f"  {mark} {check.name}: {check.detail}")
            for problem in check.problems[:_SHOWN_PROBLEMS]:
                lines.append(f"         - {problem}")
            if len(check.problems) > _SHOWN_PROBLEMS:
                lines.append(f"         … and {len(check.problems) - _SHOWN_PROBLEMS} more")
        lines += [
            "",
            "statuses posted {statuses_posted}; malformed replies refused by the hub "
            "{refused_replies}; offers of a delivery id already held (deduplicated) "
            "{redelivered}; answers posted again {answers_retried}; deliveries of every "
            "packet: {deliveries}, retried {retried}, parked {parked}".format(**counters),
            "result: " + ("every expectation met" if self.ok else "EXPECTATIONS NOT MET"),
        ]
        return "\n".join(lines)


def profile_assignment(
    scenario: Scenario, roster: Roster, *, scale: float = 1.0
) -> Callable[[Member], Profile]:
    """Who plays which profile: the scenario's first matching cast rule, else its default."""
    ruled = [
        ({member.code for member in roster.select(rule.agencies)}, rule.profile)
        for rule in scenario.cast.rules
    ]
    cache: dict[str, Profile] = {}

    def profile_of(member: Member) -> Profile:
        name = next(
            (profile for codes, profile in ruled if member.code in codes), scenario.cast.default
        )
        if name not in cache:
            cache[name] = scenario.profile(name, scale=scale)
        return cache[name]

    return profile_of


@dataclass
class _State:
    records: dict[tuple[str, int], DocumentRecord] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ScenarioRunner:
    """One run of a scenario against a deployment."""

    def __init__(
        self,
        scenario: Scenario,
        deployment: Deployment,
        *,
        scale: float = 1.0,
        progress: Callable[[Progress], None] | None = None,
        environ: Mapping[str, str] | None = None,
        first_number: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.deployment = deployment
        self.scale = scale
        self.progress = progress
        self.environ = environ
        self.first_number = first_number or run_number_base()
        self.roster = Roster.from_directory(deployment.directory_data())
        ministries = deployment.ministries(environ)
        self.plan: Plan = make_plan(
            scenario,
            self.roster,
            scale=scale,
            available=lambda member: playable(member, deployment, ministries),
        )
        self._state = _State()
        self._started = 0.0

    def open_cast(
        self,
        codes: Sequence[str] | None = None,
        *,
        servers: Mapping[int, WebhookServer] | None = None,
    ) -> Cast:
        """The simulated systems this scenario's profiles describe (every playable agency,
        or ``codes``), started; the caller closes them. ``servers``: webhook servers already
        listening, by port."""
        return open_cast(
            self.deployment,
            self.roster,
            profile_assignment(self.scenario, self.roster, scale=self.scale),
            codes=codes,
            first_number=self.first_number,
            environ=self.environ,
            servers=servers,
        )

    def run(self, cast: Cast | None = None) -> RunReport:
        """Play the scenario, wait for it to settle, check it; the report. Without a running
        ``cast``, the systems of the agencies taking part are started and stopped here."""
        own = cast is None
        if cast is None:
            cast = self.open_cast(sorted(self.plan.participants()))
        try:
            missing = self.plan.participants() - set(cast.players)
            if missing:
                raise ValueError(
                    f"the running agencies do not include {', '.join(sorted(missing))}"
                )
            with HubClient(self.deployment.hub_url, self.deployment.operator_token) as operator:
                return self._run(cast, operator)
        finally:
            self._clear_faults()
            if own:
                cast.close()

    # -- playing -----------------------------------------------------------------------

    def _run(self, cast: Cast, operator: HubClient) -> RunReport:
        tracker = Tracker(cast.agencies)
        self._started = time.monotonic()
        cast.start_clock(self._started)
        _log.info(
            "scenario.started",
            scenario=self.scenario.name,
            scale=self.scale,
            actions=len(self.plan.actions),
        )
        sends: dict[tuple[str, int], Future[None]] = {}
        pending: list[Future[None]] = []
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="scenario") as pool:
            for action in self.plan.actions:
                self._wait_until(self._started + action.at, cast, tracker, "sending")
                future = pool.submit(self._perform, action, cast, tracker, sends)
                if isinstance(action, SendAction):
                    sends[action.key] = future
                pending.append(future)
            while not all(future.done() for future in pending):
                self._report(cast, tracker, "sending")
                time.sleep(0.5)
        last_action = time.monotonic()
        settle = self.scenario.settle_seconds(self.scale)
        timelines, settled_after = self._settle(cast, tracker, operator, last_action + settle)
        return self._report_of(cast, tracker, timelines, settled_after)

    def _wait_until(self, moment: float, cast: Cast, tracker: Tracker, phase: str) -> None:
        while (left := moment - time.monotonic()) > 0:
            self._report(cast, tracker, phase)
            time.sleep(min(left, 1.0))

    def _perform(
        self,
        action: Action,
        cast: Cast,
        tracker: Tracker,
        sends: Mapping[tuple[str, int], Future[None]],
    ) -> None:
        try:
            if isinstance(action, SendAction):
                self._send(action, cast)
            elif isinstance(action, ChangeAction):
                target = sends.get(action.target)
                if target is not None:
                    target.result()
                self._change(action, cast, tracker)
            else:
                self._fault(action)
        except Exception as exc:
            _log.warning("scenario.action_failed", action=repr(action), error=repr(exc))
            with self._state.lock:
                self._state.failures.append(f"{_describe(action)}: {exc}")
        finally:
            with self._state.lock:
                self._state.done += 1

    def _post(self, agency: Agency, data: bytes) -> Accepted:
        """Post ``data`` as ``agency``, again (the same bytes) while the failure is transient."""
        deadline = time.monotonic() + SEND_RETRY_SECONDS
        pause = 0.5
        while True:
            try:
                return agency.send(data)
            except Exception as exc:
                if not is_transient(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _send(self, action: SendAction, cast: Cast) -> None:
        agency = cast.players[action.sender].agency
        packet, data = document_packet(
            agency.code,
            action.recipients,
            number=agency.next_number(),
            notation=agency.notation,
            subject=f"{action.subject} ({action.flow} #{action.index + 1})",
        )
        self._post(agency, data)
        self._record(action.key, agency.code, action.recipients, packet, data)

    def _record(
        self,
        key: tuple[str, int],
        sender: str,
        recipients: Sequence[str],
        packet: DocumentPacket,
        data: bytes,
        replaces: str | None = None,
    ) -> DocumentRecord:
        record = DocumentRecord(
            key=key,
            sender=sender,
            recipients=tuple(recipients),
            packet=packet,
            sha256=hashlib.sha256(data).hexdigest(),
            sent_at=time.monotonic(),
            replaces=replaces,
        )
        with self._state.lock:
            self._state.records[key] = record
        return record

    def _change(self, action: ChangeAction, cast: Cast, tracker: Tracker) -> None:
        with self._state.lock:
            record = self._state.records.get(action.target)
        if record is None:
            raise ValueError(f"document {action.target[0]} #{action.target[1] + 1} was not sent")
        self._wait_settled(record, cast, tracker)
        agency = cast.players[record.sender].agency
        reason = action.reason
        if action.kind == "revoke":
            _, data = revoke_packet(record.packet, reason or "Thu hồi văn bản ban hành nhầm")
            self._post(agency, data)
            change = ChangeRecord("revoke", record.recipients)
        elif action.kind == "update":
            _, data = update_packet(record.packet, reason or "Cập nhật trích yếu văn bản")
            self._post(agency, data)
            change = ChangeRecord("update", record.recipients)
        elif action.kind == "take-back":
            assert action.recipient is not None
            self._post(agency, take_back_packet(record.packet, action.recipient, reason))
            change = ChangeRecord("take-back", (action.recipient,))
        else:
            packet, data = replacement_packet(
                record.packet,
                number=agency.next_number(),
                notation=agency.notation,
                subject=f"Văn bản thay thế văn bản {record.document_id}",
            )
            self._post(agency, data)
            key = (f"{action.target[0]}+replacement", action.target[1])
            self._record(key, record.sender, record.recipients, packet, data, record.document_id)
            change = ChangeRecord("replace", record.recipients, replacement=packet.document_id)
        with self._state.lock:
            record.changes.append(change)

    def _wait_settled(self, record: DocumentRecord, cast: Cast, tracker: Tracker) -> None:
        """Until the sender got each recipient's final status (bounded by the settle time)."""
        deadline = time.monotonic() + self.scenario.settle_seconds(self.scale)
        while time.monotonic() < deadline:
            tracker.update()
            if all(
                self._final_status_seen(record, code, cast, tracker) for code in record.recipients
            ):
                return
            time.sleep(0.3)

    def _final_status_seen(
        self, record: DocumentRecord, code: str, cast: Cast, tracker: Tracker
    ) -> bool:
        member = self.roster.members[code]
        expected = cast.profile_of(code).expected_status(member.channel)
        return expected is None or tracker.got_status(
            record.sender, record.document_id, code, expected
        )

    def _fault(self, action: FaultAction) -> None:
        axis = self.deployment.axis
        if axis is None:
            raise ValueError("the scenario injects axis faults but the deployment has no axis")
        body = action.faults.model_dump(mode="json", exclude_none=True)
        response = httpx.post(f"{axis.url}/_sim/faults", json=body, timeout=10)
        response.raise_for_status()
        _log.info("scenario.axis_fault", faults=body)

    def _clear_faults(self) -> None:
        if self.deployment.axis is None or not self.plan.faults:
            return
        try:
            httpx.delete(f"{self.deployment.axis.url}/_sim/faults", timeout=10)
        except httpx.HTTPError as exc:
            _log.warning("scenario.faults_not_cleared", error=repr(exc))

    # -- settling and checking -----------------------------------------------------------

    def _settle(
        self, cast: Cast, tracker: Tracker, operator: HubClient, deadline: float
    ) -> tuple[dict[tuple[str, int], dict[str, Any] | None], float | None]:
        """Wait until every document is as expected at the hub, or the deadline; the last
        timelines read, and how long settling took (None: it did not)."""
        last_action = time.monotonic()
        timelines: dict[tuple[str, int], dict[str, Any] | None] = {}
        unsettled = set(self._records())
        last_check = 0.0
        while True:
            tracker.update()
            now = time.monotonic()
            ready = self._looks_settled(cast, tracker)
            if unsettled and (ready or now - last_check >= HUB_CHECK_SECONDS or now > deadline):
                last_check = now
                fresh = self._timelines(operator, sorted(unsettled))
                timelines.update(fresh)
                records = self._records()
                for key in sorted(unsettled):
                    found = judge(
                        records[key],
                        timelines.get(key),
                        roster=self.roster,
                        profile_of=cast.profile_of,
                        tracker=tracker,
                    )
                    if not any(found.values()):
                        unsettled.discard(key)
            self._report(cast, tracker, "settling", len(unsettled))
            if not unsettled:
                return timelines, time.monotonic() - last_action
            if now > deadline:
                return timelines, None
            time.sleep(1.0)

    def _looks_settled(self, cast: Cast, tracker: Tracker) -> bool:
        """The simulated systems' view: every copy held and every final status back."""
        for record in self._records().values():
            for code in record.recipients:
                member = self.roster.members[code]
                profile = cast.profile_of(code)
                if profile.expected_delivery(member.channel) == "parked":
                    continue
                if not tracker.holds(code, record.sha256):
                    return False
                if not self._final_status_seen(record, code, cast, tracker):
                    return False
        return True

    def _timelines(
        self, operator: HubClient, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], dict[str, Any] | None]:
        records = self._records()

        def fetch(key: tuple[str, int]) -> dict[str, Any] | None:
            record = records[key]
            try:
                return operator.timeline(record.document_id, sender=record.sender)
            except (HubAnswerError, httpx.HTTPError) as exc:
                _log.debug("scenario.timeline_unread", document=record.document_id, error=repr(exc))
                return None

        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="timelines") as pool:
            return dict(zip(keys, pool.map(fetch, keys), strict=True))

    def _records(self) -> dict[tuple[str, int], DocumentRecord]:
        with self._state.lock:
            return dict(self._state.records)

    def _report_of(
        self,
        cast: Cast,
        tracker: Tracker,
        timelines: Mapping[tuple[str, int], Mapping[str, Any] | None],
        settled_after: float | None,
    ) -> RunReport:
        self._report(cast, tracker, "checking")
        with HubClient(self.deployment.hub_url, self.deployment.operator_token) as operator:
            final = self._timelines(operator, sorted(self._records()))
        tracker.update()
        records = self._records()
        expect = self.scenario.expect
        problems: dict[str, list[str]] = {category: [] for category in CATEGORIES}
        copies = 0
        for key, record in sorted(records.items()):
            copies += len(record.recipients)
            found = judge(
                record,
                final.get(key),
                roster=self.roster,
                profile_of=cast.profile_of,
                tracker=tracker,
            )
            for category, items in found.items():
                problems[category].extend(items)
        deliveries = [
            delivery
            for timeline in final.values()
            if timeline is not None
            for packet in timeline.get("packets", ())
            for delivery in packet.get("deliveries", ())
        ]
        agencies = [player.agency for player in cast.players.values()]
        counters = {
            "documents": sum(1 for key in records if "+" not in key[0]),
            "changes": len(self.plan.changes),
            "faults": len(self.plan.faults),
            "statuses_posted": sum(len(agency.answers) for agency in agencies),
            "refused_replies": sum(agency.refused_answers for agency in agencies),
            "answers_retried": sum(agency.retried_answers for agency in agencies),
            "redelivered": tracker.redelivered(),
            "retried": sum(1 for d in deliveries if int(d.get("attempts") or 0) > 1),
            "parked": sum(1 for d in deliveries if d["state"] == "parked"),
            "deliveries": len(deliveries),
        }
        checks = [
            Check(
                "actions",
                not self._state.failures,
                f"{self._state.done} of {len(self.plan.actions)} documents, changes and "
                "faults performed",
                tuple(self._state.failures),
            )
        ]
        changes = sum(len(record.changes) for record in records.values())
        descriptions = {
            "delivered": f"each of {counters['deliveries']} deliveries (documents, changes, "
            "statuses) reached the state its recipient's profile implies, and the "
            "recipient's system holds it",
            "statuses": f"each of {copies} copies reached the status its recipient's profile "
            "implies, and the sender received it",
            "changes": f"each of {changes} revokes, updates, take-backs and replacements was "
            "answered as the recipients' profiles imply",
        }
        for category in CATEGORIES:
            if getattr(expect, category):
                listed = problems[category]
                detail = descriptions[category]
                if listed:
                    detail = f"{len(listed)} problems; expected: {detail}"
                checks.append(Check(category, not listed, detail, tuple(listed)))
        if expect.no_duplicates:
            duplicates = tracker.duplicates()
            checks.append(
                Check(
                    "no duplicates",
                    not duplicates,
                    "no recipient holds a packet under two delivery ids",
                    tuple(duplicates),
                )
            )
        for name, bound in (
            ("retried", expect.retried),
            ("parked", expect.parked),
            ("refused_replies", expect.refused_replies),
            ("redelivered", expect.redelivered),
        ):
            if bound is not None:
                checks.append(_range_check(name, counters[name], bound))
        errors = cast.problems()
        checks.append(
            Check(
                "agency systems",
                not errors,
                "the simulated systems noticed nothing wrong"
                if not errors
                else f"{len(errors)} errors",
                tuple(errors),
            )
        )
        report = RunReport(
            scenario=self.scenario.name,
            scale=self.scale,
            rows=summarize(records.values(), final, self.roster),
            checks=checks,
            counters=counters,
            elapsed=time.monotonic() - self._started,
            settled_after=settled_after,
        )
        _log.info("scenario.finished", scenario=self.scenario.name, ok=report.ok)
        return report

    def _report(
        self, cast: Cast, tracker: Tracker, phase: str, unsettled: int | None = None
    ) -> None:
        if self.progress is None:
            return
        tracker.update()
        records = self._records()
        copies = received = 0
        statuses = dict.fromkeys(("01", "03", "06", "02"), 0)
        for record in records.values():
            for code in record.recipients:
                copies += 1
                received += tracker.holds(code, record.sha256)
                for status in statuses:
                    statuses[status] += tracker.got_status(
                        record.sender, record.document_id, code, status
                    )
        self.progress(
            Progress(
                scenario=self.scenario.name,
                phase=phase,
                elapsed=time.monotonic() - self._started,
                actions_done=self._state.done,
                actions=len(self.plan.actions),
                copies=copies,
                received=received,
                statuses=statuses,
                unsettled=unsettled,
            )
        )


def _range_check(name: str, value: int, bound: Range) -> Check:
    label = name.replace("_", " ")
    return Check(label, bound.holds(value), f"{value} (expected {bound.describe()})")


def _describe(action: Action) -> str:
    if isinstance(action, SendAction):
        return f"document {action.flow} #{action.index + 1} from {action.sender}"
    if isinstance(action, ChangeAction):
        return f"{action.kind} of {action.target[0]} #{action.target[1] + 1}"
    return f"axis fault #{action.fault + 1}"


def run_number_base() -> int:
    """A document number base unique to this run (numbers are per sender and day, so two
    runs against the same hub must not reuse them)."""
    return (int(time.time()) % 10_000_000) * 1000
