"""The kit's packets, its hub rules, its report and its command-line parsing."""

from __future__ import annotations

import hashlib
import json

import pytest

import edxml
from edxml.models import DocumentPacket
from simulators.conformance.checks import CheckResult, read_post
from simulators.conformance.command import parse_listen
from simulators.conformance.kit import hub_verdict
from simulators.conformance.packets import corrupt, kit_documents
from simulators.conformance.report import Report
from simulators.conformance.runner import Options

AGENCY = "000.05.12.H26"
SENDER = "000.00.00.H26"


def test_the_kit_builds_valid_sample_like_documents_and_their_changes() -> None:
    docs = kit_documents(SENDER, AGENCY, base=500)
    assert set(docs) == {
        "new-1", "new-2", "new-3", "revoke", "update",
        "probe-signature", "probe-timestamp", "probe-unsigned", "probe-integrity",
    }  # fmt: skip
    for doc in docs.values():
        inspection = edxml.inspect(doc.data)
        assert inspection.valid, (doc.key, inspection.issues)
        assert inspection.from_ == SENDER
        assert inspection.to == [AGENCY]
    assert len({doc.delivery_id for doc in docs.values()}) == len(docs)
    new_2, revoke = docs["new-2"].packet, docs["revoke"].packet
    assert (revoke.document_id, revoke.business_type) == (new_2.document_id, 1)
    update = docs["update"].packet
    assert (update.document_id, update.business_type) == (docs["new-3"].packet.document_id, 2)
    assert new_2.document_id.endswith(",501/UBND-KTLT")
    first = edxml.parse(docs["new-1"].data)
    assert isinstance(first, DocumentPacket)
    assert [a.zipped for a in first.attachments] == [False, True]
    assert first.header.from_.organ_name


def test_corrupt_changes_one_attachment_byte_and_keeps_the_xml() -> None:
    data = kit_documents(SENDER, AGENCY, base=1)["probe-integrity"].data
    altered = corrupt(data)
    assert len(altered) == len(data)
    assert sum(a != b for a, b in zip(data, altered, strict=True)) == 1
    assert hashlib.sha256(altered).digest() != hashlib.sha256(data).digest()
    assert edxml.inspect(altered).kind == "edoc"


def test_the_kit_answers_posts_as_the_hub_does() -> None:
    doc = kit_documents(SENDER, AGENCY, base=7)["new-1"].packet
    known = frozenset({AGENCY, SENDER})

    def verdict(data: bytes, authorised: bool = True) -> tuple[int, str | None]:
        post = read_post(data, at=0.0, authorised=authorised, sha256="s")
        status, code, _ = hub_verdict(post, AGENCY, known)
        return status, code

    right = edxml.build(edxml.status_for(doc, "01", reporter=AGENCY))
    assert verdict(right) == (202, None)
    assert verdict(right, authorised=False) == (401, "token.unknown")
    assert verdict(b"<oops") == (400, "packet.invalid")
    other = edxml.build(edxml.status_for(doc, "01", reporter="000.00.99.H26"))
    assert verdict(other) == (403, "packet.sender-mismatch")
    nowhere = edxml.status_for(doc, "01", reporter=AGENCY)
    about = nowhere.header.response_for.model_copy(update={"organ_id": "000.00.77.H26"})
    nowhere = nowhere.model_copy(
        update={"header": nowhere.header.model_copy(update={"response_for": about})}
    )
    assert verdict(edxml.build(nowhere)) == (422, "packet.unknown-recipient")


def _report(*outcomes: str) -> Report:
    checks = tuple(
        CheckResult(
            check_id,
            outcome,  # type: ignore[arg-type]
            "expected this",
            "got that",
            "fix it so" if outcome != "pass" else "",
            ("one detail",) if outcome == "fail" else (),
        )
        for check_id, outcome in zip(
            ("webhook.accepts", "new.answer-01", "inbox.integrity"), outcomes, strict=False
        )
    )
    return Report(AGENCY, "webhook", "http://agency/edxml", "http://kit", SENDER, 30.0,
                  "2026-11-20T08:00:00+07:00", 3.2, checks)  # fmt: skip


def test_warnings_and_skips_do_not_fail_a_run_but_a_failure_does() -> None:
    assert _report("pass", "skip", "warn").passed
    failing = _report("pass", "fail", "warn")
    assert not failing.passed
    assert failing.counts() == {"pass": 1, "fail": 1, "warn": 1, "skip": 0}


def test_the_text_report_explains_failures_and_the_json_report_holds_everything() -> None:
    report = _report("pass", "fail", "warn")
    text = report.to_text()
    assert "PASS  webhook.accepts" in text
    assert "FAIL  new.answer-01" in text
    assert "(Phản hồi 01 (Đã đến) cho văn bản mới đúng hạn)" in text
    assert "expected: expected this" in text
    assert "fix:      fix it so" in text
    assert "  - one detail" in text
    assert text.endswith("1 of 3 checks passed, 1 failed, 1 advisory warning(s), 0 skipped")
    assert "FAILED — KHÔNG ĐẠT" in text
    data = json.loads(report.to_json())
    assert data["passed"] is False
    assert data["checks"][1] == {
        "id": "new.answer-01",
        "title": "Answers 01 to a new document before the deadline",
        "label_vi": "Phản hồi 01 (Đã đến) cho văn bản mới đúng hạn",
        "outcome": "fail",
        "expected": "expected this",
        "got": "got that",
        "fix": "fix it so",
        "details": ["one detail"],
    }


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:8089", ("127.0.0.1", 8089)),
        ("[::1]:0", ("::1", 0)),
        (":9000", ("127.0.0.1", 9000)),
    ],
)
def test_listen_addresses(text: str, parsed: tuple[str, int]) -> None:
    assert parse_listen(text) == parsed


@pytest.mark.parametrize("text", ["8089", "host:", "host:port", "host:70000"])
def test_bad_listen_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(text)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Options(AGENCY, url="ftp://x", secret="s"), "needs --url"),
        (Options(AGENCY, url="http://x"), "needs --secret"),
        (Options(AGENCY, channel="inbox", sender=AGENCY), "--sender must differ"),
        (Options(AGENCY, channel="inbox", deadline=0), "--deadline must be positive"),
    ],
)
def test_incomplete_options_are_refused(options: Options, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        options.validate()
    Options(AGENCY, channel="inbox").validate()
