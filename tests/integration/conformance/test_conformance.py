"""The conformance kit over real HTTP on localhost, against simulated agency systems.

It passes the simulated agencies of ``simulators.agencies`` (webhook, inbox, and a system
built on the axis's SDK calling the VXP endpoint), and fails, saying why, the broken ones of
``broken.py``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace

import pytest

from simulators.agencies import (
    PROMPT,
    REFUSES_CHANGES,
    SILENT,
    Agency,
    Behaviour,
    HubClient,
    InboxPoller,
    SdkInbox,
    SdkSender,
    WebhookEndpoint,
)
from simulators.cli import main
from simulators.conformance import DEFAULT_SENDER, KitHub, Options, Report, run_conformance
from simulators.vxpsdk import VxpSdk

from .broken import (
    DEPARTMENT,
    AcksUnreadableDone,
    AnySignature,
    EdocOnlyInbox,
    IgnoresTakeBack,
    NoDeduplication,
    OwnCodeInResponseFor,
    ProgressFromTheDepartment,
    ReplacementAsUpdate,
    ReplacementUnderOldId,
    StatusesAsDocuments,
    TakeBackAsRevoke,
)

AGENCY = "000.05.12.H26"
TOKEN = "conformance-test-token"
SECRET = "webhook-secret-of-the-ward"
VXP_SECRET = "ltv_vxp-secret-of-the-ward"
FAST = {"deadline": 4.0, "settle": 0.5}
"""Passing systems answer in milliseconds; the deadline only bounds a failing wait."""
IMPATIENT = {"deadline": 1.0, "settle": 0.3}
"""For systems that never answer: every wait runs to its end."""
PROGRESSING = replace(PROMPT, new=("01", "03", "04", "05", "06"))
"""Registers, assigns, processes and completes every document at once."""


@contextmanager
def system(
    channel: str,
    *,
    behaviour: Behaviour = PROMPT,
    agency: type[Agency] = Agency,
    endpoint: type[WebhookEndpoint] = WebhookEndpoint,
    hub_client: type[HubClient] = HubClient,
    acknowledge: bool = True,
    timing: dict[str, float] = FAST,
    token: str = TOKEN,
    vxp_secret: str = VXP_SECRET,
    sdk_inbox: type[SdkInbox] = SdkInbox,
    sdk_sender: type[SdkSender] = SdkSender,
) -> Iterator[tuple[KitHub, Options, Agency]]:
    """The kit, and a simulated agency system whose HubClient (or SDK) points at it."""
    with ExitStack() as stack:
        kit = stack.enter_context(
            KitHub(
                agency=AGENCY,
                sender=DEFAULT_SENDER,
                token=TOKEN,
                vxp_system=AGENCY,
                vxp_secret=VXP_SECRET,
            )
        )
        deadline, settle = timing["deadline"], timing["settle"]
        if channel == "vxp":
            sending = stack.enter_context(VxpSdk(kit.vxp_url, AGENCY, vxp_secret))
            polling = stack.enter_context(VxpSdk(kit.vxp_url, AGENCY, vxp_secret))
            ward = stack.enter_context(agency(AGENCY, sdk_sender(sending, AGENCY), behaviour))
            stack.enter_context(sdk_inbox(ward, polling, interval=0.05, acknowledge=acknowledge))
            options = Options(
                AGENCY, channel="vxp", secret=VXP_SECRET, deadline=deadline, settle=settle
            )
            yield kit, options, ward
            return
        client = stack.enter_context(hub_client(kit.url, token))
        ward = stack.enter_context(agency(AGENCY, client, behaviour))
        if channel == "webhook":
            hook = stack.enter_context(endpoint(ward, secrets=[SECRET]))
            options = Options(AGENCY, url=hook.url, secret=SECRET, deadline=deadline, settle=settle)
        else:
            stack.enter_context(InboxPoller(ward, interval=0.05, acknowledge=acknowledge))
            options = Options(AGENCY, channel="inbox", deadline=deadline, settle=settle)
        yield kit, options, ward


def outcomes(report: Report) -> dict[str, str]:
    return {check.id: check.outcome for check in report.checks}


def check(report: Report, check_id: str) -> dict[str, object]:
    return next(item.as_json() for item in report.checks if item.id == check_id)


@pytest.mark.parametrize("channel", ["webhook", "inbox", "vxp"])
@pytest.mark.parametrize("behaviour", [PROMPT, REFUSES_CHANGES], ids=["prompt", "refuses"])
def test_a_conforming_system_passes_every_check(channel: str, behaviour: Behaviour) -> None:
    with system(channel, behaviour=behaviour) as (kit, options, ward):
        report = run_conformance(options, kit)
    assert report.passed, report.to_text()
    assert set(outcomes(report).values()) == {"pass"}, report.to_text()
    expected = {
        "webhook": "webhook.bad-signature",
        "inbox": "inbox.fetch-ack",
        "vxp": "vxp.receive",
    }[channel]
    assert expected in outcomes(report)
    agreed = "03 (agreed)" if behaviour == PROMPT else "02 (refused)"
    assert str(check(report, "revoke.answer")["got"]).startswith(agreed)
    given_back = "15 (agreed)" if behaviour == PROMPT else "16 (refused)"
    assert str(check(report, "take-back.answer")["got"]).startswith(given_back)
    replacement = check(report, "replace.answer")
    assert str(replacement["got"]).startswith(
        "answered as a new document under its own DocumentId: 01, 03; 01 after"
    )
    assert "marked replaced cannot be seen from outside" in str(replacement["details"])
    progress = check(report, "status.progress")
    assert str(progress["got"]).startswith("not observed: no 04 or 05 came during the run")
    assert "raise --deadline and --settle" in str(progress["details"])
    assert ward.errors == [] if channel == "webhook" else len(ward.errors) == 1
    assert "PASSED" in report.to_text()


@pytest.mark.parametrize("channel", ["webhook", "inbox"])
def test_a_system_that_never_answers_fails_with_what_to_fix(channel: str) -> None:
    with system(channel, behaviour=SILENT, timing=IMPATIENT) as (kit, options, _):
        report = run_conformance(options, kit)
    assert not report.passed
    found = outcomes(report)
    assert found["new.answer-01"] == "fail"
    assert found["revoke.answer"] == "fail"
    assert found["update.answer"] == "fail"
    assert found["take-back.answer"] == "fail"
    assert found["replace.answer"] == "fail"
    assert found["status.progress"] == "skip"
    assert found["dedupe.redelivery"] == "skip"
    assert found["webhook.accepts" if channel == "webhook" else "inbox.fetch-ack"] == "pass"
    answer = check(report, "new.answer-01")
    assert answer["got"] == "nothing was posted to the kit at all"
    assert "check the hub URL and token" in str(answer["fix"])
    assert "no status about it within 1 s" in str(answer["details"])
    assert "FAILED" in report.to_text()


def test_a_system_with_another_token_fails_the_token_check() -> None:
    with system("webhook", token="the-production-token", timing=IMPATIENT) as (kit, options, _):
        report = run_conformance(options, kit)
    found = outcomes(report)
    assert found["api.token"] == "fail"
    assert found["new.answer-01"] == "fail"
    assert found["webhook.accepts"] == "pass"
    token = check(report, "api.token")
    assert "refused with 401" in str(token["got"])
    assert "--token" in str(token["fix"])
    assert "without the kit's token" in str(check(report, "new.answer-01")["got"])


def test_statuses_with_the_wrong_response_for_fail_addressing() -> None:
    with system("webhook", agency=OwnCodeInResponseFor) as (kit, options, _):
        report = run_conformance(options, kit)
    found = outcomes(report)
    assert found["status.addressing"] == "fail"
    assert found["new.answer-01"] == "fail"
    assert found["status.valid"] == "pass"
    addressing = check(report, "status.addressing")
    assert f"ResponseFor/OrganId is '{AGENCY}'" in str(addressing["details"])
    assert DEFAULT_SENDER in str(addressing["details"])
    assert "copy ResponseFor from the document" in str(addressing["fix"])
    assert "could not use it" in str(check(report, "new.answer-01")["details"])


@pytest.mark.parametrize("channel", ["webhook", "inbox", "vxp"])
def test_a_system_that_does_not_deduplicate_fails_the_redelivery_check(channel: str) -> None:
    with system(channel, agency=NoDeduplication) as (kit, options, _):
        report = run_conformance(options, kit)
    found = outcomes(report)
    assert [name for name, outcome in found.items() if outcome == "fail"] == [
        "dedupe.redelivery"
    ], report.to_text()
    redelivery = check(report, "dedupe.redelivery")
    assert "came again after the delivery was offered again" in str(redelivery["got"])
    assert "01 2 times" in str(redelivery["got"])
    key = "docId" if channel == "vxp" else "X-Lienthong-Delivery-Id"
    assert key in str(redelivery["fix"])


def test_a_webhook_that_accepts_any_signature_fails_the_three_refusals() -> None:
    with system("webhook", endpoint=AnySignature) as (kit, options, _):
        report = run_conformance(options, kit)
    found = outcomes(report)
    failed = {name for name, outcome in found.items() if outcome == "fail"}
    assert failed == {"webhook.bad-signature", "webhook.stale-timestamp", "webhook.unsigned"}
    bad = check(report, "webhook.bad-signature")
    assert str(bad["got"]).startswith("accepted it with 200; it then posted status 01 at")
    assert "HMAC-SHA256" in str(bad["fix"])
    assert "5 minutes" in str(check(report, "webhook.stale-timestamp")["fix"])


def test_an_inbox_client_that_never_acknowledges_fails() -> None:
    with system("inbox", acknowledge=False, timing=IMPATIENT) as (kit, options, _):
        report = run_conformance(options, kit)
    found = outcomes(report)
    assert found["inbox.fetch-ack"] == "fail"
    assert found["dedupe.redelivery"] == "fail"
    assert found["new.answer-01"] == "pass"
    taken = check(report, "inbox.fetch-ack")
    assert "never acknowledged" in str(taken["details"])
    assert "stays in the inbox" in str(check(report, "dedupe.redelivery")["got"])


def failures(report: Report) -> set[str]:
    return {name for name, outcome in outcomes(report).items() if outcome == "fail"}


@pytest.mark.parametrize("channel", ["webhook", "inbox"])
def test_a_system_that_reports_its_progress_passes_the_progress_check(channel: str) -> None:
    with system(channel, behaviour=PROGRESSING) as (kit, options, _):
        report = run_conformance(options, kit)
    assert report.passed, report.to_text()
    assert set(outcomes(report).values()) == {"pass"}, report.to_text()
    got = str(check(report, "status.progress")["got"])
    assert got.startswith("04 ×6 and 05 ×6 about 6 document(s)"), got
    assert got.endswith("each valid, addressed and in order")


@pytest.mark.parametrize(
    ("behaviour", "wrong", "failed", "says", "fix"),
    [
        pytest.param(
            replace(PROGRESSING, order="swapped"),
            Agency,
            {"status.progress"},
            ["01 at", "came after 03 at", "04 at", "came after 05 at", "01 → 03 → 04 → 05 → 06"],
            "from one queue per document",
            id="out-of-order",
        ),
        pytest.param(
            PROGRESSING,
            ProgressFromTheDepartment,
            {"status.progress", "status.addressing"},
            ["status 04 at", f"From/OrganId is '{DEPARTMENT}'", "status 05 at"],
            "not the code of the department or person handling it",
            id="from-the-department",
        ),
    ],
)
def test_progress_statuses_out_of_order_or_misaddressed_fail(
    behaviour: Behaviour, wrong: type[Agency], failed: set[str], says: list[str], fix: str
) -> None:
    with system("webhook", behaviour=behaviour, agency=wrong) as (kit, options, _):
        report = run_conformance(options, kit)
    assert failures(report) == failed, report.to_text()
    progress = check(report, "status.progress")
    details = str(progress["details"])
    for text in says:
        assert text in details, details
    assert fix in str(progress["fix"])
    assert "FAIL  status.progress" in report.to_text()


@pytest.mark.parametrize(
    ("wrong", "got"),
    [
        pytest.param(IgnoresTakeBack, "no status about it within 4 s", id="ignored"),
        pytest.param(TakeBackAsRevoke, "only 03, as if it were a revoke", id="as-a-revoke"),
    ],
)
def test_a_system_that_does_not_answer_a_take_back_with_15_or_16_fails(
    wrong: type[Agency], got: str
) -> None:
    with system("webhook", agency=wrong) as (kit, options, _):
        report = run_conformance(options, kit)
    assert failures(report) == {"take-back.answer"}, report.to_text()
    take_back = check(report, "take-back.answer")
    assert take_back["got"] == got
    assert "take-back (status 13 from the document's sender)" in str(take_back["expected"])
    assert "StatusCode 13" in str(take_back["fix"])
    assert "answer it 15 (agree, give it back) or 16 (refuse)" in str(take_back["fix"])


def test_an_inbox_client_that_fetches_only_documents_never_answers_a_take_back() -> None:
    with system("inbox", hub_client=EdocOnlyInbox) as (kit, options, _):
        report = run_conformance(options, kit)
    assert failures(report) == {"take-back.answer", "inbox.fetch-ack"}, report.to_text()
    assert "take-back (" in str(check(report, "inbox.fetch-ack")["details"])
    assert "never fetched" in str(check(report, "inbox.fetch-ack")["details"])
    take_back = check(report, "take-back.answer")
    assert take_back["got"] == "no status about it within 4 s"
    assert "X-Lienthong-Kind: status" in str(take_back["fix"])


@pytest.mark.parametrize(
    ("wrong", "got", "detail"),
    [
        pytest.param(
            ReplacementUnderOldId,
            "answered under the replaced document's DocumentId (01, 03 about ",
            "ResponseFor/DocumentId names the replaced document",
            id="under-the-old-id",
        ),
        pytest.param(
            ReplacementAsUpdate,
            "answered 15 about it, as if it were an update, and no 01",
            "StatusCode 15 answers it as if it were an update",
            id="as-an-update",
        ),
    ],
)
def test_a_system_that_does_not_answer_a_replacement_as_a_new_document_fails(
    wrong: type[Agency], got: str, detail: str
) -> None:
    with system("webhook", agency=wrong) as (kit, options, _):
        report = run_conformance(options, kit)
    assert failures(report) == {"replace.answer"}, report.to_text()
    replacement = check(report, "replace.answer")
    assert str(replacement["got"]).startswith(got), replacement["got"]
    assert detail in str(replacement["details"])
    assert "ReplacementInfoList/ReplacementInfo/DocumentId" in str(replacement["fix"])
    assert "store it under its own DocumentId" in str(replacement["fix"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_command_prints_a_json_report_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    with (
        HubClient(f"http://127.0.0.1:{port}", TOKEN) as client,
        Agency(AGENCY, client, PROMPT) as ward,
        WebhookEndpoint(ward, secrets=[SECRET]) as hook,
    ):
        status = main(
            [
                "conformance",
                "--url",
                hook.url,
                "--agency",
                AGENCY,
                "--secret",
                SECRET,
                "--listen",
                f"127.0.0.1:{port}",
                "--token",
                TOKEN,
                "--deadline",
                "4",
                "--settle",
                "0.3",
                "--report",
                "json",
            ]
        )
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert status == 0, captured.out
    assert report["passed"] is True
    assert report["counts"] == {"pass": 14, "fail": 0, "warn": 0, "skip": 0}
    assert f"http://127.0.0.1:{port}" in captured.err
    assert TOKEN in captured.err


def test_the_command_exits_1_with_a_text_report_when_a_check_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with (
        HubClient("http://127.0.0.1:9", TOKEN) as client,
        Agency(AGENCY, client, PROMPT) as ward,
        WebhookEndpoint(ward, secrets=["another-secret"]) as hook,
    ):
        arguments = ["--url", hook.url, "--agency", AGENCY, "--secret", SECRET]
        status = main(
            [
                "conformance",
                *arguments,
                "--listen",
                "127.0.0.1:0",
                "--deadline",
                "0.5",
                "--settle",
                "0.1",
            ]
        )
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL  webhook.accepts" in out
    assert "refused a correctly signed, fresh request with 401" in out
    assert "FAILED — KHÔNG ĐẠT" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--agency", AGENCY, "--secret", SECRET], "needs --url"),
        (["--agency", AGENCY, "--url", "http://127.0.0.1:9/"], "needs --secret"),
        (["--agency", AGENCY, "--channel", "inbox", "--listen", "nowhere"], "HOST:PORT"),
        (["--agency", DEFAULT_SENDER, "--channel", "inbox"], "--sender must differ"),
    ],
)
def test_the_command_refuses_incomplete_arguments(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["conformance", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_an_sdk_system_passes_the_vxp_checks_and_keeps_no_token_check() -> None:
    with system("vxp") as (kit, options, ward):
        report = run_conformance(options, kit)
    found = outcomes(report)
    assert report.passed, report.to_text()
    assert {found[name] for name in ("vxp.signature", "vxp.receive", "vxp.unreadable")} == {"pass"}
    assert found["vxp.send"] == "pass"
    assert "api.token" not in found
    [error] = ward.errors
    assert error.endswith(": not readable edXML")
    assert "polls the kit's VXP endpoint" in report.to_text()


def test_an_sdk_system_with_another_secret_fails_the_signature_check() -> None:
    with system("vxp", vxp_secret="ltv_the-production-secret", timing=IMPATIENT) as (
        kit,
        options,
        _,
    ):
        report = run_conformance(options, kit)
    found = outcomes(report)
    assert found["vxp.signature"] == "fail"
    assert found["new.answer-01"] == "fail"
    signature = check(report, "vxp.signature")
    assert "AUTH_FAILED" in str(signature["got"])
    assert "vxp-secret" in str(signature["fix"])


def test_an_sdk_system_that_acknowledges_an_unreadable_packet_done_fails() -> None:
    with system("vxp", sdk_inbox=AcksUnreadableDone) as (kit, options, _):
        report = run_conformance(options, kit)
    assert failures(report) == {"vxp.unreadable"}, report.to_text()
    assert "updateStatus fail" in str(check(report, "vxp.unreadable")["fix"])


def test_an_sdk_system_sending_its_statuses_as_documents_fails_the_send_check() -> None:
    with system("vxp", sdk_sender=StatusesAsDocuments, timing=IMPATIENT) as (kit, options, _):
        report = run_conformance(options, kit)
    found = outcomes(report)
    assert found["vxp.send"] == "fail"
    assert found["new.answer-01"] == "fail"
    assert "messagetype is edoc but the packet is a status packet" in str(
        check(report, "vxp.send")["details"]
    )


def test_the_command_runs_the_vxp_mode_and_prints_the_endpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(
        [
            "conformance",
            "--channel",
            "vxp",
            "--agency",
            AGENCY,
            "--listen",
            f"127.0.0.1:{port}",
            "--deadline",
            "0.5",
            "--settle",
            "0.1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert f"http://127.0.0.1:{port}/vxp" in err
    assert f"system id {AGENCY} and secret ltv_" in err
