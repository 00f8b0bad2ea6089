"""The conformance checks judge recorded facts: real packets in, verdicts and advice out."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

import edxml
from simulators.conformance.checks import (
    Ack,
    Fetch,
    InboxView,
    Offered,
    Posted,
    PushAttempt,
    VxpCall,
    addressing_problems,
    check_addressing,
    check_change_answer,
    check_inbox_integrity,
    check_inbox_taken,
    check_new_answers,
    check_redelivery,
    check_status_validity,
    check_token,
    check_vxp_sends,
    check_vxp_signature,
    check_vxp_taken,
    check_vxp_unreadable,
    check_webhook_accepts,
    check_webhook_refusal,
    inbox_redelivery_problem,
    push_problem,
    read_post,
    webhook_redelivery_problem,
)
from simulators.conformance.packets import KitDocument, kit_documents

AGENCY = "000.05.12.H26"
SENDER = "000.00.00.H26"
DEADLINE = 5.0


@pytest.fixture(scope="module")
def docs() -> dict[str, KitDocument]:
    return kit_documents(SENDER, AGENCY, base=4200)


@pytest.fixture(scope="module")
def offered(docs: dict[str, KitDocument]) -> dict[str, Offered]:
    return {key: doc.offered(at=10.0) for key, doc in docs.items()}


def status(
    doc: KitDocument, status_code: str, at: float, *, reporter: str = AGENCY, **response: str
) -> Posted:
    """A real status packet about ``doc``, read as the kit reads what is posted."""
    packet = edxml.status_for(doc.packet, status_code, reporter=reporter)
    if response:
        about = packet.header.response_for.model_copy(update=response)
        packet = packet.model_copy(
            update={"header": packet.header.model_copy(update={"response_for": about})}
        )
    data = edxml.build(packet)
    return read_post(data, at=at, authorised=True, sha256=hashlib.sha256(data).hexdigest())


def test_a_posted_status_is_read_with_its_response_for(docs: dict[str, KitDocument]) -> None:
    post = status(docs["new-1"], "01", 11.0)
    assert (post.kind, post.status_code, post.sender, post.issues) == ("status", "01", AGENCY, ())
    assert post.response_for is not None
    assert post.response_for.document_id == docs["new-1"].packet.document_id
    assert post.response_for.organ_id == SENDER
    assert post.response_for.code == "4200/UBND-KTLT"


def test_unreadable_and_unauthorised_posts_are_recorded_without_a_model() -> None:
    garbage = read_post(b"<not-edxml/>", at=1.0, authorised=True, sha256="x")
    assert garbage.kind is None
    assert garbage.issues
    not_xml = read_post(b"\x00\x01 binary", at=1.0, authorised=True, sha256="x")
    assert not_xml.issues[0].startswith("xml.")
    anonymous = read_post(b"<whatever/>", at=1.0, authorised=False, sha256="x")
    assert (anonymous.authorised, anonymous.kind, anonymous.issues) == (False, None, ())


def test_addressing_names_each_wrong_field(
    docs: dict[str, KitDocument], offered: dict[str, Offered]
) -> None:
    documents = list(offered.values())
    assert addressing_problems(status(docs["new-1"], "01", 11), AGENCY, documents) == []
    own = status(docs["new-1"], "01", 11, organ_id=AGENCY)
    assert addressing_problems(own, AGENCY, documents) == [
        f"ResponseFor/OrganId is '{AGENCY}'; it must be the document's sender (its "
        f"From/OrganId), {SENDER}, to whom the status goes back"
    ]
    code = status(docs["new-1"], "01", 11, code="4200")
    assert "ResponseFor/Code is '4200'" in addressing_problems(code, AGENCY, documents)[0]
    unknown = status(docs["new-1"], "01", 11, document_id="somewhere,2020/01/01,1/X")
    assert "names no document the kit sent" in addressing_problems(unknown, AGENCY, documents)[0]
    reporter = status(docs["new-1"], "01", 11, reporter="000.00.99.H26")
    assert addressing_problems(reporter, AGENCY, documents)[0].startswith(
        "From/OrganId is '000.00.99.H26'"
    )


def test_statuses_addressed_wrongly_fail_with_each_problem_once(
    docs: dict[str, KitDocument], offered: dict[str, Offered]
) -> None:
    posts = [status(docs[key], "01", 11, organ_id=AGENCY) for key in ("new-1", "new-2")]
    result = check_addressing(posts, AGENCY, list(offered.values()))
    assert result.outcome == "fail"
    assert len(result.details) == 1
    assert result.details[0].endswith("in status 01 at 11.00 s, status 01 at 11.00 s")
    assert check_addressing([], AGENCY, list(offered.values())).outcome == "skip"


def test_01_in_time_passes_and_late_missing_or_unusable_ones_fail(
    docs: dict[str, KitDocument], offered: dict[str, Offered]
) -> None:
    documents = list(offered.values())
    news = [offered["new-1"], offered["new-2"]]
    timely = [status(docs["new-1"], "01", 10.2), status(docs["new-2"], "01", 10.4)]
    result = check_new_answers(news, timely, AGENCY, documents, DEADLINE)
    assert result.outcome == "pass"
    assert result.got == "01 for each of 2 document(s) after 0.20–0.40 s"

    late = [status(docs["new-1"], "01", 10.2), status(docs["new-2"], "01", 16.0)]
    result = check_new_answers(news, late, AGENCY, documents, DEADLINE)
    assert result.outcome == "fail"
    assert result.details == (f"{docs['new-2'].packet.document_id}: 01 came after 6.0 s",)

    only_03 = [status(docs["new-1"], "01", 10.2), status(docs["new-2"], "03", 10.3)]
    result = check_new_answers(news, only_03, AGENCY, documents, DEADLINE)
    assert result.details == (f"{docs['new-2'].packet.document_id}: got 03 but no 01",)

    misaddressed = [status(docs[key], "01", 10.2, organ_id=AGENCY) for key in ("new-1", "new-2")]
    result = check_new_answers(news, misaddressed, AGENCY, documents, DEADLINE)
    assert all("could not use it" in line for line in result.details)

    before_the_offer = [status(docs["new-1"], "01", 9.0), status(docs["new-2"], "01", 10.1)]
    result = check_new_answers(news, before_the_offer, AGENCY, documents, DEADLINE)
    assert result.outcome == "fail"
    assert result.got == "1 of 2 document(s) without a timely 01"


def test_a_revoke_is_answered_03_or_02(
    docs: dict[str, KitDocument], offered: dict[str, Offered]
) -> None:
    documents = list(offered.values())
    revoke = replace(offered["revoke"], at=20.0)
    refused = [status(docs["new-2"], "01", 10.1), status(docs["new-2"], "02", 20.5)]
    result = check_change_answer("revoke", revoke, refused, AGENCY, documents, DEADLINE)
    assert (result.outcome, result.got) == ("pass", "02 (refused) after 0.50 s")
    registered_before = [status(docs["new-2"], "03", 10.2)]
    result = check_change_answer("revoke", revoke, registered_before, AGENCY, documents, DEADLINE)
    assert result.outcome == "fail"
    assert "BussinessDocType is 1" in result.fix
    late = [status(docs["new-2"], "03", 26.0)]
    result = check_change_answer("revoke", revoke, late, AGENCY, documents, DEADLINE)
    assert (result.outcome, result.got) == ("fail", "03 came after 6.0 s")


def test_an_update_answered_like_a_new_document_fails(
    docs: dict[str, KitDocument], offered: dict[str, Offered]
) -> None:
    update = replace(offered["update"], at=20.0)
    posts = [status(docs["new-3"], "01", 20.1), status(docs["new-3"], "03", 20.2)]
    result = check_change_answer("update", update, posts, AGENCY, list(offered.values()), 5)
    assert result.outcome == "fail"
    assert result.got == "only 01, 03, as if it were a new document"
    assert "answer 15 (agree) or 16" in result.fix
    assert "do not deduplicate on DocumentId" in result.fix
    agreed = [*posts, status(docs["new-3"], "15", 20.3)]
    result = check_change_answer("update", update, agreed, AGENCY, list(offered.values()), 5)
    assert result.outcome == "pass"
    assert len(result.details) == 2


def test_a_second_set_of_statuses_after_a_redelivery_fails(
    docs: dict[str, KitDocument], offered: dict[str, Offered]
) -> None:
    first = [status(docs["new-1"], "01", 10.1), status(docs["new-1"], "03", 10.2)]
    once = check_redelivery(offered["new-1"], 12.0, first, AGENCY, None, "webhook")
    assert once.outcome == "pass"
    again = [*first, status(docs["new-1"], "01", 12.1), status(docs["new-1"], "03", 12.2)]
    twice = check_redelivery(offered["new-1"], 12.0, again, AGENCY, None, "inbox")
    assert twice.outcome == "fail"
    assert "01 2 times (at 10.10, 12.10 s); 03 2 times (at 10.20, 12.20 s)" in twice.got
    assert "X-Lienthong-Delivery-Id" in twice.fix
    silent = check_redelivery(offered["new-1"], 12.0, [], AGENCY, None, "webhook")
    assert silent.outcome == "skip"
    refused = check_redelivery(offered["new-1"], 12.0, first, AGENCY, "answered 409", "webhook")
    assert (refused.outcome, refused.got) == ("fail", "answered 409")


def attempt(status_code: int | None, answer: str = "", error: str | None = None) -> PushAttempt:
    return PushAttempt("new-1", "D1", 1, 1.0, status_code, answer=answer, error=error)


@pytest.mark.parametrize(
    ("status_code", "error", "says"),
    [
        (302, None, "does not follow redirects"),
        (401, None, "check the secret and the signature scheme"),
        (503, None, "retries, so the packet is late"),
        (429, None, "retries, so the packet is late"),
        (400, None, "parks the delivery at once"),
        (None, "ConnectError: refused", "no answer within 30 s (ConnectError: refused)"),
    ],
)
def test_each_failed_push_says_what_the_hub_would_do(
    status_code: int | None, error: str | None, says: str
) -> None:
    problem = push_problem(attempt(status_code, "nope", error), timeout=30)
    assert problem is not None
    assert says in problem
    assert push_problem(attempt(204)) is None


def test_accepts_passes_only_when_every_push_got_2xx() -> None:
    assert check_webhook_accepts([attempt(200), attempt(202)], 30).outcome == "pass"
    result = check_webhook_accepts([attempt(200), attempt(500, "boom")], 30)
    assert (result.outcome, result.got) == ("fail", "1 of 2 not taken")
    assert result.details == ("new-1: answered 500: boom; the hub treats it as passing and "
                              "retries, so the packet is late",)  # fmt: skip


def test_a_forged_push_must_be_refused_with_a_4xx_and_not_acted_on(
    docs: dict[str, KitDocument], offered: dict[str, Offered]
) -> None:
    probe = offered["probe-signature"]
    check_id = "webhook.bad-signature"
    assert check_webhook_refusal(check_id, attempt(401), [], probe).outcome == "pass"
    accepted = check_webhook_refusal(check_id, attempt(200), [], probe)
    assert (accepted.outcome, accepted.got) == ("fail", "accepted it with 200")
    assert "HMAC-SHA256" in accepted.fix
    busy = check_webhook_refusal(check_id, attempt(503), [], probe)
    assert busy.outcome == "fail"
    assert busy.fix.startswith("answer 401 (not a 5xx)")
    acted = [status(docs["probe-signature"], "01", 11.0)]
    sneaky = check_webhook_refusal(check_id, attempt(401), acted, probe)
    assert sneaky.outcome == "fail"
    assert "still acted on it: status 01 at 11.00 s" in sneaky.got
    assert check_webhook_refusal(check_id, None, [], None).outcome == "skip"


def test_a_webhook_redelivery_must_be_answered_2xx() -> None:
    assert webhook_redelivery_problem(attempt(200)) is None
    problem = webhook_redelivery_problem(attempt(409, "duplicate"))
    assert problem is not None
    assert problem.startswith("the redelivery was not answered 2xx (refused with 409: duplicate")


def view(**changes: object) -> InboxView:
    base = InboxView(
        "new-1", "D1", 1.0, fetches=(Fetch(1.2, True),), acks=(Ack(1.3, "done", None),)
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"fetches": (), "acks": ()}, "never fetched"),
        ({"acks": ()}, "never acknowledged"),
        ({"fetches": ()}, "acknowledged done without fetching it"),
        ({"fetches": (Fetch(1.2, False),)}, "download was cut short"),
        ({"acks": (Ack(1.3, "fail", "no space"),)}, "acknowledged fail (no space)"),
        ({"acks": (Ack(9.0, "done", None),)}, "acknowledged after 8.0 s (deadline 5 s)"),
    ],
)
def test_each_inbox_mistake_is_named(changes: dict[str, object], says: str) -> None:
    result = check_inbox_taken([view(), view(key="new-2", **changes)], DEADLINE)
    assert result.outcome == "fail"
    assert result.got == "1 of 2 not taken as the hub expects"
    assert says in result.details[0]
    assert result.details[0].startswith("new-2")


def test_an_inbox_client_that_fetches_and_acks_passes() -> None:
    assert check_inbox_taken([view(), view(key="new-2")], DEADLINE).outcome == "pass"


def test_integrity_is_advisory() -> None:
    altered = view(corrupted=True)
    warned = check_inbox_integrity(altered)
    assert warned.outcome == "warn"
    assert not warned.failed
    assert "X-Lienthong-Sha256" in warned.fix
    refused = check_inbox_integrity(view(corrupted=True, acks=(Ack(1.3, "fail", "sha"),)))
    assert (refused.outcome, refused.got) == ("pass", "acknowledged fail (sha)")
    assert check_inbox_integrity(None).outcome == "skip"


def test_an_inbox_redelivery_must_be_acknowledged_again() -> None:
    reoffered = view(reoffered_at=2.0)
    assert inbox_redelivery_problem(reoffered) is not None
    assert "stays in the inbox" in str(inbox_redelivery_problem(reoffered))
    acked = view(reoffered_at=2.0, acks=(Ack(1.3, "done", None), Ack(2.1, "done", None)))
    assert inbox_redelivery_problem(acked) is None


def test_token_and_validity_checks(docs: dict[str, KitDocument]) -> None:
    good = status(docs["new-1"], "01", 11.0)
    anonymous = read_post(b"x", at=12.0, authorised=False, sha256="y")
    token = check_token([good, anonymous])
    assert (token.outcome, token.details) == ("fail", ("packet at 12.00 s: refused with 401",))
    assert check_token([good], refused_calls=2).outcome == "fail"
    assert check_token([]).outcome == "skip"
    assert check_token([good]).outcome == "pass"

    broken = read_post(
        edxml.build(edxml.status_for(docs["new-1"].packet, "01")).replace(b"01</", b"1</"),
        at=13.0,
        authorised=True,
        sha256="z",
    )
    validity = check_status_validity([good, broken])
    assert validity.outcome == "fail"
    assert validity.got == "1 of 2 packet(s) are invalid; the hub refuses them with 400"
    assert validity.details[0].startswith("packet at 13.00 s: packet.bad-status-code")
    assert "StatusCode" in validity.details[0]
    document = read_post(docs["new-1"].data, at=14.0, authorised=True, sha256="d")
    noted = check_status_validity([good, document])
    assert noted.outcome == "pass"
    assert noted.details == ("edoc at 14.00 s: a document packet, not a status (not judged here)",)


# -- the VXP mode ---------------------------------------------------------------------------


def test_a_vxp_call_refused_for_its_signature_fails_the_signature_check() -> None:
    calls = [
        VxpCall(1.0, "getReceivedEdocList", True),
        VxpCall(2.0, "sendEdoc", False, "AUTH_FAILED", "the signature does not match"),
    ]

    result = check_vxp_signature(calls)

    assert result.outcome == "fail"
    assert "sendEdoc at 2.00 s: the signature does not match" in result.details


def test_signed_vxp_calls_pass_and_none_at_all_is_skipped() -> None:
    assert check_vxp_signature([VxpCall(1.0, "getEdoc", True)]).outcome == "pass"
    assert check_vxp_signature([]).outcome == "skip"


def test_an_unreadable_packet_acknowledged_done_fails_and_fail_passes() -> None:
    view = InboxView("probe-integrity", "D9", 1.0, fetches=(Fetch(1.5, True),))

    done = check_vxp_unreadable(replace(view, acks=(Ack(2.0, "done", None),)))
    failed = check_vxp_unreadable(replace(view, acks=(Ack(2.0, "fail", "unreadable"),)))
    left = check_vxp_unreadable(view)

    assert (done.outcome, failed.outcome, left.outcome) == ("fail", "pass", "warn")


def test_a_vxp_delivery_fetched_and_never_acknowledged_names_update_status() -> None:
    view = InboxView("new-1", "D1", 1.0, fetches=(Fetch(1.5, True),))

    result = check_vxp_taken([view], DEADLINE)

    assert result.outcome == "fail"
    assert "updateStatus done" in result.details[0]


def test_a_vxp_delivery_fetched_and_acknowledged_done_in_time_passes() -> None:
    view = InboxView(
        "new-1", "D1", 1.0, fetches=(Fetch(1.5, True),), acks=(Ack(2.0, "done", None),)
    )

    assert check_vxp_taken([view], DEADLINE).outcome == "pass"


def test_a_status_sent_as_a_document_fails_the_send_check() -> None:
    calls = [
        VxpCall(1.0, "sendEdoc", True, message_type="status", kind="status"),
        VxpCall(
            2.0,
            "sendEdoc",
            True,
            "MESSAGE_TYPE_MISMATCH",
            "messagetype is edoc but the packet is a status packet",
            message_type="edoc",
            kind="status",
        ),
    ]

    result = check_vxp_sends(calls)

    assert result.outcome == "fail"
    assert "1 of 2" in result.got
