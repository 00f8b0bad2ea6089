"""Play a scenario against a running hub, wait for it to settle, check its expectations.

:class:`ScenarioRunner` plans the run (:func:`~simulators.scenario.plan.make_plan`), starts the
simulated agency systems with their profiles (or uses a running :class:`Cast`), sends each
document, change and fault at its time from a small pool of threads (posting the same bytes
again while the hub or the axis is unreachable, so nothing is sent twice as two documents),
then waits until the hub's timelines show what the profiles imply or ``settle_within`` runs
out, and reports: a summary per level, every check with what failed, and counters.
A change waits until its document settled at its recipients (their final status reached the
sender), as a clerk revokes a registered document: a revoke's 03/02 would otherwise be taken
for a registration or a refusal. A scenario's reorganisation is recorded through the operator
API as the run starts, dated ``at`` seconds later; the agencies it creates join the cast, and
the checks add where each copy landed and how the console counts the day before and after
(:mod:`simulators.scenario.reorganisation`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from edxml import DocumentPacket
from edxml.compose import LOCAL_TZ
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
from simulators.scenario.reorganisation import PlannedReorganisation, structure_figures
from simulators.scenario.spec import Range, Scenario, ScenarioError

__all__ = ["Check", "Progress", "Refusal", "RunReport", "ScenarioRunner", "profile_assignment"]

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


@dataclass(frozen=True)
class Refusal:
    """A document the hub was expected to refuse, and its answer."""

    key: tuple[str, int]
    sender: str
    recipients: tuple[str, ...]
    status: int
    """The HTTP status (202: it was accepted)."""
    code: str
    successors: Mapping[str, list[str]]
    """The successors the refusal names, by code."""


@dataclass
class _State:
    records: dict[tuple[str, int], DocumentRecord] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    done: int = 0
    change_moment: datetime | None = None
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
        self.reorganisation = (
            PlannedReorganisation.of(scenario.reorganisation, self.roster, deployment, scale=scale)
            if scenario.reorganisation is not None
            else None
        )
        self.cast_roster = self.roster
        self.cast_deployment = deployment
        if self.reorganisation is not None:
            new_levels = self.reorganisation.levels or self.roster.level_names
            self.cast_roster = Roster(
                [*self.roster.members.values(), *self.reorganisation.members.values()],
                self.roster.level_names,
                other_levels={
                    code: new_levels.get(member.level, f"level {member.level}")
                    for code, member in self.reorganisation.members.items()
                },
            )
            self.cast_deployment = deployment.model_copy(
                update={"tokens": {**deployment.tokens, **self.reorganisation.tokens}}
            )
        self._flows = {flow.name: flow for flow in scenario.flows}
        self._state = _State()
        self._started = 0.0

    def participants(self) -> set[str]:
        """Every agency whose system takes part: senders, recipients, and the agencies the
        reorganisation sends their copies to."""
        codes = self.plan.participants()
        if self.reorganisation is None:
            return codes
        for send in self.plan.sends:
            if self._flows[send.flow].lands == "successor":
                for code in send.recipients:
                    landing = self.reorganisation.landing(code)
                    if landing is not None:
                        codes.add(landing)
        return codes | set(self.reorganisation.members)

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
            self.cast_deployment,
            self.cast_roster,
            profile_assignment(self.scenario, self.cast_roster, scale=self.scale),
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
            cast = self.open_cast(sorted(self.participants()))
        try:
            missing = self.participants() - set(cast.players)
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
        if self.reorganisation is not None:
            self._reorganise(operator, self.reorganisation)
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

    def _reorganise(self, operator: HubClient, reorganisation: PlannedReorganisation) -> None:
        """Record the reorganisation, dated ``at`` seconds after the start."""
        elapsed = time.monotonic() - self._started
        moment = datetime.now(UTC) + timedelta(seconds=reorganisation.at - elapsed)
        report = operator.record_changes(
            reorganisation.document(moment, self.first_number),
            source=f"{self.scenario.name} ({reorganisation.spec.changes})",
        )
        with self._state.lock:
            self._state.change_moment = moment
        _log.info(
            "scenario.reorganisation_recorded",
            changes=len(report.get("recorded", ())),
            effective_at=moment.isoformat(),
        )

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
        lands = self._flows[action.flow].lands
        if lands == "refused":
            self._send_refused(action, agency, data)
            return
        self._post(agency, data)
        record = self._record(action.key, agency.code, action.recipients, packet, data)
        if lands == "successor" and self.reorganisation is not None:
            record.lands = {
                code: self.reorganisation.landing(code) or "(no single successor)"
                for code in action.recipients
            }

    def _send_refused(self, action: SendAction, agency: Agency, data: bytes) -> None:
        """Post a document the hub should refuse, and keep its answer."""
        try:
            self._post(agency, data)
        except HubAnswerError as exc:
            error = exc.body.get("error") if isinstance(exc.body, dict) else None
            named = error.get("successors") if isinstance(error, dict) else None
            refusal = Refusal(
                action.key,
                agency.code,
                action.recipients,
                exc.status,
                exc.code,
                dict(named) if isinstance(named, dict) else {},
            )
        else:
            refusal = Refusal(action.key, agency.code, action.recipients, 202, "", {})
        with self._state.lock:
            self._state.refusals.append(refusal)

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
        landing = record.landing(code)
        member = self.cast_roster.members.get(landing)
        if member is None or landing not in cast.players:
            return False
        expected = cast.profile_of(landing).expected_status(member.channel)
        return expected is None or tracker.got_status(
            record.sender, record.document_id, landing, expected
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
                        roster=self.cast_roster,
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
            for addressed in record.recipients:
                code = record.landing(addressed)
                member = self.cast_roster.members.get(code)
                if member is None or code not in cast.players:
                    return False
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
                roster=self.cast_roster,
                profile_of=cast.profile_of,
                tracker=tracker,
            )
            for category, items in found.items():
                problems[category].extend(items)
        problems["landed"].extend(self._refusal_problems())
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
            "landed": "each copy addressed to an agency the reorganisation ended landed at its "
            f"successor, and each of {len(self._state.refusals)} documents to a code without "
            "a single successor was refused naming them",
        }
        for category in CATEGORIES:
            if category == "landed" and self.reorganisation is None:
                continue
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
        if self.reorganisation is not None and expect.structure:
            checks.append(self._structure_check(self.reorganisation))
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
            rows=summarize(records.values(), final, self.cast_roster),
            checks=checks,
            counters=counters,
            elapsed=time.monotonic() - self._started,
            settled_after=settled_after,
        )
        _log.info("scenario.finished", scenario=self.scenario.name, ok=report.ok)
        return report

    def _refusal_problems(self) -> list[str]:
        """Each document to a code without a single successor refused, naming them all."""
        if self.reorganisation is None:
            return []
        problems = []
        for refusal in self._state.refusals:
            addressed = ", ".join(refusal.recipients)
            what = f"document {refusal.key[0]} #{refusal.key[1] + 1} to {addressed}"
            if refusal.status == 202:
                problems.append(f"{what} was accepted, expected a refusal naming the successors")
                continue
            if (refusal.status, refusal.code) != (422, "packet.recipient-ended"):
                problems.append(
                    f"{what} was answered {refusal.status} {refusal.code}, expected 422 "
                    "packet.recipient-ended"
                )
                continue
            for code in refusal.recipients:
                wanted = self.reorganisation.refusal(code)
                named = tuple(sorted(refusal.successors.get(code, [])))
                if wanted and named != wanted:
                    problems.append(
                        f"{what}: the refusal names {', '.join(named) or 'no successor'} for "
                        f"{code}, expected {', '.join(wanted)}"
                    )
        return problems

    def _structure_check(self, reorganisation: PlannedReorganisation) -> Check:
        """The console counts the day before the change by the old levels and after it by the
        new ones, with documents received in each part."""
        moment = self._state.change_moment
        name = "figures by structure"
        if moment is None:
            return Check(name, False, "the reorganisation was not recorded")
        try:
            parts = structure_figures(self.deployment, moment.astimezone(LOCAL_TZ).date())
        except (ScenarioError, httpx.HTTPError) as exc:
            return Check(name, False, f"the console's figures could not be read: {exc}")
        before = [part for part in parts if part.start < moment - timedelta(seconds=1)]
        after = [part for part in parts if abs((part.start - moment).total_seconds()) < 1]
        problems = []
        if not before or not after:
            problems.append(
                f"the console cut the day into {len(parts)} part(s); expected one ending and one "
                f"starting at {moment.isoformat(timespec='seconds')}"
            )
        else:
            old, new = before[-1], after[0]
            wanted_after = reorganisation.levels or self.roster.level_names
            if old.levels != dict(self.roster.level_names):
                problems.append(f"before the change: levels {_level_list(old.levels)}")
            if new.levels != dict(wanted_after):
                problems.append(f"after the change: levels {_level_list(new.levels)}")
            if not sum(old.received.values()):
                problems.append("before the change: no document counted as received")
            if not sum(new.received.values()):
                problems.append("after the change: no document counted as received")
        detail = (
            "the console counts the day before the change by its levels "
            f"({_level_list(self.roster.level_names)}) and after it by the new ones "
            f"({_level_list(reorganisation.levels or self.roster.level_names)})"
        )
        return Check(name, not problems, detail, tuple(problems))

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
            for addressed in record.recipients:
                code = record.landing(addressed)
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


def _level_list(levels: Mapping[int, str]) -> str:
    return ", ".join(f"{level} {name}" for level, name in sorted(levels.items()))


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
