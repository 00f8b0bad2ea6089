"""One conformance run: the kit plays the hub towards an agency system, then judges it.

The run has two rounds, each waiting for answers (up to the deadline) and then for a quiet
spell (``settle``), so late or repeated statuses are seen:

1. five new documents are offered (webhook: pushed, signed; inbox and vxp: made available,
   the vxp mode serving them through the kit's VXP endpoint to a system built on the axis's
   SDK), and on the webhook channel three forged pushes (wrong signature, stale timestamp,
   unsigned), on the inbox channel one delivery whose bytes do not match their SHA-256, in
   the vxp mode one that is not readable edXML;
2. the first document is offered again (same delivery id, same bytes: a retry or replay),
   the second is revoked, the third updated, the fourth taken back (status 13 from the
   sender) and the fifth replaced (business type 3, a new DocumentId naming it).

Then every check of :mod:`simulators.conformance.checks` judges what was recorded.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

from hub.channels.base import (
    ATTEMPT_HEADER,
    DELIVERY_ID_HEADER,
    KIND_HEADER,
    PACKET_ID_HEADER,
    TIMESTAMP_HEADER,
)
from hub.channels.webhook import SIGNATURE_HEADER, signature_header
from simulators.conformance.checks import (
    CHANGE_CODES,
    CheckResult,
    Offered,
    PushAttempt,
    check_addressing,
    check_change_answer,
    check_inbox_integrity,
    check_inbox_taken,
    check_new_answers,
    check_progress,
    check_redelivery,
    check_replacement,
    check_status_validity,
    check_token,
    check_vxp_sends,
    check_vxp_signature,
    check_vxp_taken,
    check_vxp_unreadable,
    check_webhook_accepts,
    check_webhook_refusal,
    inbox_redelivery_problem,
    webhook_redelivery_problem,
)
from simulators.conformance.kit import KitHub
from simulators.conformance.packets import (
    KitPacket,
    corrupt,
    flow_documents,
    kit_documents,
    truncated,
)
from simulators.conformance.report import Report

__all__ = ["DEFAULT_SENDER", "STALE_SECONDS", "Options", "run_conformance"]

DEFAULT_SENDER = "000.00.00.H26"
"""The agency the kit's documents come from (Hà Nội People's Committee), unless told."""
STALE_SECONDS = 600
"""How old the stale-timestamp probe is: twice the five minutes receivers must allow."""
_NEWS = ("new-1", "new-2", "new-3", "new-4", "new-5")
_CHANGES = ("revoke", "update", "take-back")
"""The change requests of the second round, each answered agree or refuse."""
_PROBES = {
    "webhook.bad-signature": "probe-signature",
    "webhook.stale-timestamp": "probe-timestamp",
    "webhook.unsigned": "probe-unsigned",
}

Channel = Literal["webhook", "inbox", "vxp"]
_POLLED = ("inbox", "vxp")
"""The channels where the system fetches what the kit offers."""


@dataclass(frozen=True)
class Options:
    """What to check and how patiently."""

    agency: str
    """The code of the agency whose system is under test."""
    channel: Channel = "webhook"
    url: str | None = None
    """The system's webhook URL (webhook channel)."""
    secret: str | None = None
    """The webhook secret the hub signs with (webhook channel); the VXP system's secret
    (vxp channel)."""
    system_id: str | None = None
    """The VXP system id the system under test signs with (vxp channel; default: the agency
    code)."""
    sender: str = DEFAULT_SENDER
    deadline: float = 30.0
    """Seconds the system has to answer each document (01, and 03/02 or 15/16)."""
    settle: float = 2.0
    """Quiet seconds waited after the last status, so repeats and late ones are seen."""
    push_timeout: float = 30.0
    """Seconds to wait for the webhook's HTTP answer (the hub's read timeout)."""

    def validate(self) -> None:
        """Raise ValueError naming what is missing or wrong."""
        if self.channel not in ("webhook", "inbox", "vxp"):
            raise ValueError(f"--channel must be webhook, inbox or vxp, not {self.channel!r}")
        if self.channel == "vxp" and not self.secret:
            raise ValueError("the vxp channel needs the secret the system signs with")
        if self.channel == "webhook":
            if not self.url or not self.url.startswith(("http://", "https://")):
                raise ValueError("the webhook channel needs --url http(s)://… of the system")
            if not self.secret:
                raise ValueError(
                    "the webhook channel needs --secret, the secret the hub signs with"
                )
        if self.sender == self.agency:
            raise ValueError(f"--sender must differ from the agency under test ({self.agency})")
        if self.deadline <= 0 or self.settle < 0:
            raise ValueError("--deadline must be positive and --settle not negative")


class _Run:
    """The state of one run: the documents, when each was offered, what each push got."""

    def __init__(
        self, options: Options, kit: KitHub, progress: Callable[[str], None] | None
    ) -> None:
        self.options = options
        self.kit = kit
        self.progress = progress or (lambda _message: None)
        documents = kit_documents(options.sender, options.agency)
        self.docs: dict[str, KitPacket] = {
            **documents,
            **flow_documents(options.sender, options.agency, documents),
        }
        self.offered: dict[str, Offered] = {}
        self.pushes: dict[str, PushAttempt] = {}
        self.redelivery: PushAttempt | None = None
        self.redelivered_at = 0.0
        self.http = httpx.Client(
            timeout=httpx.Timeout(
                connect=min(5.0, options.push_timeout),
                read=options.push_timeout,
                write=options.push_timeout,
                pool=5.0,
            ),
            follow_redirects=False,
            headers={"User-Agent": "lienthong-conformance-kit"},
        )

    # -- offering -------------------------------------------------------------------------

    def offer(self, key: str) -> None:
        """Hand a document to the system over the channel under test."""
        doc = self.docs[key]
        if self.options.channel == "webhook":
            attempt = self.push(doc)
            self.pushes[key] = attempt
            at = attempt.at
        else:
            served = None
            if key == "probe-integrity":
                served = truncated(doc.data) if self.options.channel == "vxp" else corrupt(doc.data)
            at = self.kit.offer(
                key,
                doc.delivery_id,
                doc.packet_id,
                doc.packet.document_id,
                doc.data,
                served=served,
                kind=doc.kind,
                status_code=doc.status_code,
            )
        self.offered[key] = doc.offered(at)

    def push(
        self,
        doc: KitPacket,
        *,
        attempt: int = 1,
        signature: Literal["right", "wrong", "none"] = "right",
        age: float = 0.0,
    ) -> PushAttempt:
        """POST a document to the webhook as the hub does (headers and HMAC signature)."""
        timestamp = str(int(time.time() - age))
        headers = {
            "Content-Type": "application/xml",
            DELIVERY_ID_HEADER: doc.delivery_id,
            PACKET_ID_HEADER: doc.packet_id,
            KIND_HEADER: doc.kind,
            ATTEMPT_HEADER: str(attempt),
            TIMESTAMP_HEADER: timestamp,
        }
        secret = self.options.secret or ""
        if signature == "right":
            headers[SIGNATURE_HEADER] = signature_header([secret], timestamp, doc.data)
        elif signature == "wrong":
            forged = secrets.token_hex(16)
            headers[SIGNATURE_HEADER] = signature_header([forged], timestamp, doc.data)
        at = self.kit.clock()
        started = time.monotonic()
        try:
            response = self.http.post(self.options.url or "", content=doc.data, headers=headers)
        except httpx.HTTPError as exc:
            return PushAttempt(
                doc.key,
                doc.delivery_id,
                attempt,
                at,
                None,
                error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                seconds=time.monotonic() - started,
            )
        answer = " ".join(response.text[:200].split())
        return PushAttempt(
            doc.key,
            doc.delivery_id,
            attempt,
            at,
            response.status_code,
            answer=answer,
            seconds=time.monotonic() - started,
        )

    # -- waiting --------------------------------------------------------------------------

    def codes_since(self, key: str) -> set[str]:
        """Status codes posted about the document of ``key`` since it was offered."""
        doc = self.offered[key]
        return {
            post.status_code or ""
            for post in self.kit.posts
            if post.authorised
            and post.kind == "status"
            and post.at >= doc.at
            and post.response_for is not None
            and post.response_for.document_id == doc.document_id
        }

    def quiet(self) -> bool:
        """No status posted for ``settle`` seconds."""
        posts = self.kit.posts
        last = posts[-1].at if posts else 0.0
        return self.kit.clock() - last >= self.options.settle

    def wait(self, condition: Callable[[], bool]) -> None:
        """Wait for ``condition`` and a quiet spell, at most deadline + settle."""
        self.kit.wait_until(
            lambda: condition() and self.quiet(), self.options.deadline + self.options.settle
        )

    # -- the rounds -----------------------------------------------------------------------

    def first_round(self) -> None:
        for key in _NEWS:
            self.progress(f"offering new document {key} ({self.docs[key].packet.document_id})")
            self.offer(key)
        if self.options.channel == "webhook":
            self.progress("pushing forged deliveries: wrong signature, stale timestamp, unsigned")
            for key, signature, age in (
                ("probe-signature", "wrong", 0.0),
                ("probe-timestamp", "right", float(STALE_SECONDS)),
                ("probe-unsigned", "none", 0.0),
            ):
                doc = self.docs[key]
                self.pushes[key] = self.push(doc, signature=signature, age=age)  # type: ignore[arg-type]
                self.offered[key] = doc.offered(self.pushes[key].at)
        else:
            self.progress(
                "offering a delivery that is not readable edXML"
                if self.options.channel == "vxp"
                else "offering a delivery whose bytes do not match their SHA-256"
            )
            self.offer("probe-integrity")
        self.progress(f"waiting up to {self.options.deadline:g} s for the 01 answers")
        self.wait(lambda: all("01" in self.codes_since(key) for key in _NEWS))

    def second_round(self) -> None:
        first = self.docs["new-1"]
        self.progress(f"offering new-1 again (same delivery id {first.delivery_id})")
        if self.options.channel == "webhook":
            self.redelivery = self.push(first, attempt=2)
            self.redelivered_at = self.redelivery.at
        else:
            self.redelivered_at = self.kit.reoffer(first.delivery_id)
        self.progress(
            "revoking new-2, updating new-3, taking back new-4 (status 13) and replacing new-5"
        )
        for key in (*_CHANGES, "replace"):
            self.offer(key)

        def answered() -> bool:
            done = all(self.codes_since(key) & set(CHANGE_CODES[key]) for key in _CHANGES)
            done = done and "01" in self.codes_since("replace")
            if self.options.channel in _POLLED:
                done = (
                    done
                    and inbox_redelivery_problem(self.kit.inbox_view(first.delivery_id)) is None
                )
            return done

        self.progress(
            f"waiting up to {self.options.deadline:g} s for the answers to the changes and "
            "the replacement"
        )
        self.wait(answered)

    # -- judging --------------------------------------------------------------------------

    def checks(self) -> list[CheckResult]:
        options = self.options
        posts = self.kit.posts
        documents = list(self.offered.values())
        news = [self.offered[key] for key in _NEWS]
        taken = (*_NEWS, *_CHANGES, "replace")
        results: list[CheckResult] = []
        if options.channel == "webhook":
            results.append(
                check_webhook_accepts([self.pushes[key] for key in taken], options.push_timeout)
            )
            for check_id, key in _PROBES.items():
                results.append(
                    check_webhook_refusal(
                        check_id, self.pushes.get(key), posts, self.offered.get(key)
                    )
                )
            channel_problem = webhook_redelivery_problem(self.redelivery)
        else:
            views = [self.kit.inbox_view(self.docs[key].delivery_id) for key in taken]
            probe = self.kit.inbox_view(self.docs["probe-integrity"].delivery_id)
            if options.channel == "vxp":
                results.append(check_vxp_taken([view for view in views if view], options.deadline))
                results.append(check_vxp_unreadable(probe))
            else:
                results.append(
                    check_inbox_taken([view for view in views if view], options.deadline)
                )
                results.append(check_inbox_integrity(probe))
            channel_problem = inbox_redelivery_problem(
                self.kit.inbox_view(self.docs["new-1"].delivery_id)
            )
        if options.channel == "vxp":
            calls = self.kit.vxp_calls
            results += [check_vxp_signature(calls), check_vxp_sends(calls)]
        else:
            results.append(check_token(posts, self.kit.refused_calls))
        results += [
            check_status_validity(posts),
            check_addressing(posts, options.agency, documents),
            check_new_answers(news, posts, options.agency, documents, options.deadline),
            check_progress(posts, options.agency, documents),
            *(
                check_change_answer(
                    key, self.offered[key], posts, options.agency, documents, options.deadline
                )
                for key in ("revoke", "update", "take-back")
            ),
            check_replacement(
                self.offered["replace"],
                self.offered["new-5"],
                posts,
                options.agency,
                documents,
                options.deadline,
            ),
            check_redelivery(
                self.offered["new-1"],
                self.redelivered_at,
                posts,
                options.agency,
                channel_problem,
                options.channel,
            ),
        ]
        return results


def run_conformance(
    options: Options, kit: KitHub, *, progress: Callable[[str], None] | None = None
) -> Report:
    """Check the agency system ``options`` describes through ``kit``; the report of every check.

    The system must already be configured to call ``kit.url`` with ``kit.token``.
    """
    options.validate()
    if options.channel == "vxp" and kit.vxp_system != (options.system_id or options.agency):
        raise ValueError(
            f"the kit's VXP endpoint serves system {kit.vxp_system!r}, not "
            f"{options.system_id or options.agency!r}"
        )
    if (kit.agency, kit.sender) != (options.agency, options.sender):
        raise ValueError(
            f"the kit serves {kit.agency} and {kit.sender}, "
            f"not {options.agency} and {options.sender}"
        )
    started = dt.datetime.now().astimezone().replace(microsecond=0)
    begin = time.monotonic()
    run = _Run(options, kit, progress)
    try:
        run.first_round()
        run.second_round()
        results = run.checks()
    finally:
        run.http.close()
    return Report(
        agency=options.agency,
        channel=options.channel,
        target=options.url if options.channel == "webhook" else None,
        hub_url=kit.url,
        sender=options.sender,
        deadline=options.deadline,
        started_at=started.isoformat(),
        duration=time.monotonic() - begin,
        checks=tuple(results),
    )
