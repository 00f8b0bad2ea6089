"""The conformance checks as pure functions: what the kit saw goes in, a verdict with advice out.

The runner records what happened (webhook pushes and their answers, inbox fetches and
acknowledgements, VXP calls, every packet the system under test posted) and these functions
judge it, so each rule is testable alone and the report's wording lives in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import edxml
from edxml.errors import PacketError
from edxml.models import StatusPacket

__all__ = [
    "CHECKS",
    "Ack",
    "CheckResult",
    "Fetch",
    "InboxView",
    "Offered",
    "Outcome",
    "Posted",
    "PushAttempt",
    "ResponseForView",
    "VxpCall",
    "addressing_problems",
    "check_addressing",
    "check_change_answer",
    "check_inbox_integrity",
    "check_inbox_taken",
    "check_new_answers",
    "check_progress",
    "check_redelivery",
    "check_replacement",
    "check_status_validity",
    "check_token",
    "check_vxp_sends",
    "check_vxp_signature",
    "check_vxp_taken",
    "check_vxp_unreadable",
    "check_webhook_accepts",
    "check_webhook_refusal",
    "inbox_redelivery_problem",
    "push_problem",
    "read_post",
    "webhook_redelivery_problem",
]

Outcome = Literal["pass", "fail", "warn", "skip"]
"""``warn`` is an advisory check that failed: reported, but the run still passes."""
Purpose = Literal["new", "revoke", "update", "take-back", "replace", "probe"]
ChangePurpose = Literal["revoke", "update", "take-back"]

CHECKS: dict[str, tuple[str, str]] = {
    "webhook.accepts": (
        "Answers 2xx to a correctly signed delivery",
        "Trả lời 2xx khi nhận gói tin hợp lệ",
    ),
    "webhook.bad-signature": (
        "Refuses a wrong HMAC signature with a 4xx",
        "Từ chối chữ ký HMAC sai",
    ),
    "webhook.stale-timestamp": (
        "Refuses a stale timestamp with a 4xx",
        "Từ chối dấu thời gian quá hạn",
    ),
    "webhook.unsigned": (
        "Refuses a request without a signature with a 4xx",
        "Từ chối yêu cầu không có chữ ký",
    ),
    "inbox.fetch-ack": (
        "Fetches each delivery whole and acknowledges it done",
        "Lấy gói tin từ hộp thư và xác nhận đã nhận (done)",
    ),
    "inbox.integrity": (
        "Does not take bytes that do not match their SHA-256 (advisory)",
        "Kiểm tra toàn vẹn gói tin (SHA-256) — khuyến nghị",
    ),
    "vxp.signature": (
        "Signs every VXP call as the SDK does, with its system id and secret",
        "Ký đúng mọi lời gọi VXP (mã hệ thống, khóa bí mật)",
    ),
    "vxp.receive": (
        "Lists, fetches (getEdoc) and acknowledges done (updateStatus) each delivery",
        "Nhận văn bản qua VXP: lấy danh sách, tải về, cập nhật trạng thái done",
    ),
    "vxp.unreadable": (
        "Acknowledges a packet it cannot read with fail, not done",
        "Báo fail (không phải done) khi gói tin không đọc được",
    ),
    "vxp.send": (
        "Sends its statuses through sendEdoc with the right messagetype and hash-file",
        "Gửi trạng thái qua sendEdoc đúng messagetype và hash-file",
    ),
    "api.token": (
        "Calls the hub API with its token",
        "Dùng đúng mã truy cập (token) khi gọi trục",
    ),
    "status.valid": (
        "Posts status packets that are valid edXML",
        "Gói tin trạng thái đúng chuẩn edXML (QCVN 102:2016)",
    ),
    "status.addressing": (
        "Statuses name the right document, reporter and addressee",
        "Trạng thái đúng văn bản, đúng đơn vị gửi và nhận",
    ),
    "new.answer-01": (
        "Answers 01 to a new document before the deadline",
        "Phản hồi 01 (Đã đến) cho văn bản mới đúng hạn",
    ),
    "status.progress": (
        "Progress statuses (04, 05) are valid, addressed and in order",
        "Trạng thái 04 (phân công), 05 (đang xử lý) đúng chuẩn, đúng thứ tự",
    ),
    "revoke.answer": (
        "Answers a revoke with 03 (agree) or 02 (refuse)",
        "Phản hồi thu hồi: 03 đồng ý / 02 từ chối",
    ),
    "update.answer": (
        "Answers an update with 15 (agree) or 16 (refuse)",
        "Phản hồi cập nhật: 15 đồng ý / 16 từ chối",
    ),
    "take-back.answer": (
        "Answers a take-back (status 13) with 15 (agree) or 16 (refuse)",
        "Phản hồi yêu cầu lấy lại (13): 15 đồng ý / 16 từ chối",
    ),
    "replace.answer": (
        "Answers a replacing document as a new one, under its own DocumentId",
        "Phản hồi văn bản thay thế như văn bản mới, đúng mã văn bản mới",
    ),
    "dedupe.redelivery": (
        "Takes a delivery offered twice only once",
        "Không xử lý trùng khi trục giao lại gói tin",
    ),
}
"""Every check the kit can report: id → (title, Vietnamese label), in report order."""

CHANGE_CODES: dict[str, tuple[str, ...]] = {
    "revoke": ("03", "02"),
    "update": ("15", "16"),
    "take-back": ("15", "16"),
}
"""The codes (agree, refuse) that answer a revoke (business type 1), an update (type 2) and
a take-back (status 13 from the sender)."""
NEW_CODES = frozenset({"01", "02", "03", "04", "05", "06"})
"""The codes that may follow a new document (DOMAIN.md §4)."""
PROGRESSION = ("01", "03", "04", "05", "06")
"""A new document's monotone progression: arrived, registered, assigned, processed, done."""
PROGRESS_CODES = ("04", "05")
"""The optional progress statuses: they follow a clerk's actions, not the software's."""
_MAX_LISTED = 6


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict, and in plain words what was expected, what came and what to fix."""

    id: str
    outcome: Outcome
    expected: str
    got: str
    fix: str = ""
    details: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """What the check checks, in English."""
        return CHECKS[self.id][0]

    @property
    def label_vi(self) -> str:
        """The same, in Vietnamese."""
        return CHECKS[self.id][1]

    @property
    def failed(self) -> bool:
        """Whether this result fails the run (``warn`` does not)."""
        return self.outcome == "fail"

    def as_json(self) -> dict[str, object]:
        """The result as a JSON object."""
        return {
            "id": self.id,
            "title": self.title,
            "label_vi": self.label_vi,
            "outcome": self.outcome,
            "expected": self.expected,
            "got": self.got,
            "fix": self.fix,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class Offered:
    """A document packet the kit handed to the system under test, and when."""

    key: str
    """The kit's name for it: ``new-1``, ``revoke``, ``probe-signature``…"""
    purpose: Purpose
    document_id: str
    code: str | None
    """``Code`` as a status must repeat it in ``ResponseFor/Code`` (``15/UBND-VP``)."""
    promulgation_date: str | None
    sender: str
    delivery_id: str
    at: float
    """Seconds since the run started."""


@dataclass(frozen=True)
class ResponseForView:
    """The ``ResponseFor`` block of a posted status packet."""

    organ_id: str | None
    document_id: str | None
    code: str | None
    promulgation_date: str | None


@dataclass(frozen=True)
class Posted:
    """One packet the system under test posted to the kit's ``POST /api/v1/packets``."""

    at: float
    authorised: bool
    kind: str | None
    """``edoc``, ``status``, or None when it could not be read."""
    issues: tuple[str, ...]
    """edXML problems (schema and rules), each as one line."""
    sender: str | None
    """``From/OrganId``."""
    status_code: str | None
    response_for: ResponseForView | None
    sha256: str
    answer: int = 202
    """The HTTP status the kit answered, as the hub would."""
    error: str | None = None
    """The hub error code of that answer, if any."""

    def label(self) -> str:
        """How the report names this packet."""
        what = f"status {self.status_code}" if self.status_code else (self.kind or "packet")
        return f"{what} at {self.at:.2f} s"


@dataclass(frozen=True)
class PushAttempt:
    """One webhook POST the kit made, and what the system answered."""

    key: str
    delivery_id: str
    attempt: int
    at: float
    status: int | None
    """None when no HTTP answer came (see ``error``)."""
    answer: str = ""
    """The start of the answer body."""
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Fetch:
    """One ``GET /api/v1/inbox/{id}``: when, and whether the whole body was sent."""

    at: float
    complete: bool


@dataclass(frozen=True)
class Ack:
    """One ``POST /api/v1/inbox/{id}/ack``."""

    at: float
    result: str
    reason: str | None


@dataclass(frozen=True)
class InboxView:
    """An inbox delivery the kit offered, with what the system under test did with it."""

    key: str
    delivery_id: str
    offered_at: float
    fetches: tuple[Fetch, ...] = ()
    acks: tuple[Ack, ...] = ()
    corrupted: bool = False
    """Served bytes that do not match ``X-Lienthong-Sha256`` (the integrity probe)."""
    reoffered_at: float | None = None
    """When it was made available again, as a replay does (same id, same bytes)."""


@dataclass(frozen=True)
class VxpCall:
    """One call the system under test made to the kit's VXP endpoint, and the kit's verdict."""

    at: float
    operation: str
    authorised: bool
    error_code: str = "0"
    """The ``ErrorCode`` the kit answered (``0``: OK)."""
    reason: str | None = None
    """Why it was refused, in the kit's words."""
    message_type: str | None = None
    """``messagetype`` of a ``sendEdoc``."""
    kind: str | None = None
    """What the packet sent actually is (``edoc``, ``status``), when it could be read."""


# -- reading what was posted ----------------------------------------------------------------


def read_post(body: bytes, *, at: float, authorised: bool, sha256: str) -> Posted:
    """What a posted packet is: kind, edXML issues, reporter, code and ``ResponseFor``."""
    if not authorised:
        return Posted(at, False, None, (), None, None, None, sha256)
    try:
        inspection, packet = edxml.inspect_packet(body, verify_signature=False)
    except PacketError as exc:
        issue = edxml.Issue.from_error(exc)
        return Posted(at, True, None, (_issue_line(issue.as_dict()),), None, None, None, sha256)
    issues = tuple(_issue_line(issue) for issue in inspection.issues)
    if inspection.kind is None and not issues:
        issues = ("not an edXML packet",)
    response_for = None
    if isinstance(packet, StatusPacket):
        about = packet.header.response_for
        response_for = ResponseForView(
            about.organ_id, about.document_id, about.code, about.promulgation_date
        )
    return Posted(
        at=at,
        authorised=True,
        kind=inspection.kind,
        issues=issues,
        sender=inspection.from_,
        status_code=inspection.status_code,
        response_for=response_for,
        sha256=sha256,
    )


def _issue_line(issue: dict[str, object]) -> str:
    where = " ".join(
        part
        for part in (
            f"at {issue['element']}" if issue.get("element") else "",
            f"line {issue['line']}" if issue.get("line") else "",
        )
        if part
    )
    return f"{issue.get('code')}{' ' + where if where else ''}: {issue.get('message')}"


# -- the statuses ---------------------------------------------------------------------------


def _document(document_id: str | None, documents: Sequence[Offered]) -> Offered | None:
    return next((doc for doc in documents if doc.document_id == document_id), None)


def addressing_problems(post: Posted, agency: str, documents: Sequence[Offered]) -> list[str]:
    """What is wrong with who reports a status and which document it answers (empty: right)."""
    problems: list[str] = []
    if post.sender != agency:
        problems.append(
            f"From/OrganId is {post.sender!r}; it must be the agency under test, {agency}"
        )
    about = post.response_for
    if about is None:
        return [*problems, "it has no ResponseFor block"]
    doc = _document(about.document_id, documents)
    if doc is None:
        sent = ", ".join(sorted({d.document_id for d in documents})[:3])
        problems.append(
            f"ResponseFor/DocumentId is {about.document_id!r}, which names no document the "
            f"kit sent (it sent e.g. {sent})"
        )
        return problems
    if about.organ_id != doc.sender:
        problems.append(
            f"ResponseFor/OrganId is {about.organ_id!r}; it must be the document's sender "
            f"(its From/OrganId), {doc.sender}, to whom the status goes back"
        )
    if (about.code or "").strip() != (doc.code or "").strip():
        problems.append(
            f"ResponseFor/Code is {about.code!r}; the document's Code is {doc.code!r} "
            "(CodeNumber/CodeNotation)"
        )
    if about.promulgation_date and about.promulgation_date != doc.promulgation_date:
        problems.append(
            f"ResponseFor/PromulgationDate is {about.promulgation_date!r}; the document's is "
            f"{doc.promulgation_date!r}"
        )
    return problems


def _statuses(posts: Iterable[Posted]) -> list[Posted]:
    """Readable status packets posted with the token."""
    return [post for post in posts if post.authorised and post.kind == "status"]


def _usable(post: Posted, agency: str, documents: Sequence[Offered]) -> bool:
    """Whether the hub would carry this status back to the sender as an answer."""
    return (
        post.authorised
        and post.kind == "status"
        and not post.issues
        and post.answer < 300
        and not addressing_problems(post, agency, documents)
    )


def _about(posts: Iterable[Posted], document_id: str) -> list[Posted]:
    return [
        post
        for post in _statuses(posts)
        if post.response_for is not None and post.response_for.document_id == document_id
    ]


def _some(labels: Sequence[str], shown: int = 3) -> str:
    """``a, b, c`` or ``a, b, c and 5 more``."""
    more = f" and {len(labels) - shown} more" if len(labels) > shown else ""
    return ", ".join(labels[:shown]) + more


def _listed(lines: Sequence[str]) -> tuple[str, ...]:
    if len(lines) <= _MAX_LISTED:
        return tuple(lines)
    return (*lines[:_MAX_LISTED], f"… and {len(lines) - _MAX_LISTED} more")


def check_token(posts: Sequence[Posted], refused_calls: int = 0) -> CheckResult:
    """Every call to the kit's hub API carried the right bearer token."""
    expected = "every call carries 'Authorization: Bearer <the kit's token>'"
    refused = [post for post in posts if not post.authorised]
    count = len(refused) + refused_calls
    if count:
        return CheckResult(
            "api.token",
            "fail",
            expected,
            f"{count} call(s) came without the token or with another one and were refused "
            "with 401, as the hub refuses them",
            "configure the system with the token the kit printed (or pass yours with --token); "
            "the hub issues each agency its own token (`lienthong agency token CODE`)",
            _listed([f"{post.label()}: refused with 401" for post in refused]),
        )
    if not posts:
        return CheckResult(
            "api.token", "skip", expected, "the system called nothing that needs a token"
        )
    return CheckResult("api.token", "pass", expected, f"{len(posts)} packet(s) posted with it")


def check_status_validity(posts: Sequence[Posted]) -> CheckResult:
    """Every packet posted reads as a schema-valid edXML status packet."""
    expected = "status packets that pass the QCVN 102:2016 schema and rules (edxml.inspect)"
    readable = [post for post in posts if post.authorised]
    if not readable:
        return CheckResult("status.valid", "skip", expected, "no packet was posted")
    bad: list[str] = []
    notes: list[str] = []
    for post in readable:
        if post.issues:
            bad.extend(f"{post.label()}: {issue}" for issue in post.issues)
        elif post.kind == "edoc":
            notes.append(f"{post.label()}: a document packet, not a status (not judged here)")
    if bad:
        return CheckResult(
            "status.valid",
            "fail",
            expected,
            f"{sum(1 for post in readable if post.issues)} of {len(readable)} packet(s) are "
            "invalid; the hub refuses them with 400",
            "build status packets as QCVN 102:2016 shows them (From, ResponseFor, StatusCode, "
            "Description, Timestamp 'yyyy/MM/dd HH:mm:ss'); check one with "
            "`edxml validate FILE`",
            _listed(bad + notes),
        )
    return CheckResult(
        "status.valid",
        "pass",
        expected,
        f"{len(readable) - len(notes)} status packet(s), all valid",
        details=tuple(notes),
    )


def check_addressing(
    posts: Sequence[Posted], agency: str, documents: Sequence[Offered]
) -> CheckResult:
    """Each status comes from the agency and answers a document the kit sent, to its sender."""
    expected = (
        f"From/OrganId = {agency}; ResponseFor = the document's sender (OrganId), "
        "DocumentId and Code"
    )
    statuses = [post for post in _statuses(posts) if not post.issues]
    if not statuses:
        return CheckResult("status.addressing", "skip", expected, "no valid status was posted")
    grouped: dict[str, list[str]] = {}
    for post in statuses:
        for problem in addressing_problems(post, agency, documents):
            grouped.setdefault(problem, []).append(post.label())
    wrong = [f"{problem} — in {_some(labels)}" for problem, labels in grouped.items()]
    if wrong:
        count = sum(1 for post in statuses if addressing_problems(post, agency, documents))
        return CheckResult(
            "status.addressing",
            "fail",
            expected,
            f"{count} of {len(statuses)} status(es) are addressed wrongly; the hub routes a "
            "status to ResponseFor/OrganId and files it under ResponseFor/DocumentId, so "
            "these never reach the document's sender as its answer",
            "copy ResponseFor from the document you answer: OrganId = its From/OrganId, "
            "DocumentId = its DocumentId, Code = its CodeNumber/CodeNotation, "
            "PromulgationDate = its PromulgationDate; put your own code in From/OrganId",
            _listed(wrong),
        )
    return CheckResult(
        "status.addressing", "pass", expected, f"{len(statuses)} status(es), all addressed right"
    )


def check_new_answers(
    news: Sequence[Offered],
    posts: Sequence[Posted],
    agency: str,
    documents: Sequence[Offered],
    deadline: float,
) -> CheckResult:
    """Each new document gets a usable status 01 within ``deadline`` seconds of its offer."""
    expected = f"a status 01 about each of the {len(news)} new documents within {deadline:g} s"
    problems: list[str] = []
    times: list[float] = []
    for doc in news:
        about = [post for post in _about(posts, doc.document_id) if post.at >= doc.at]
        usable = [post for post in about if _usable(post, agency, documents)]
        first = next((post for post in usable if post.status_code == "01"), None)
        if first is not None:
            took = first.at - doc.at
            if took <= deadline:
                times.append(took)
            else:
                problems.append(f"{doc.document_id}: 01 came after {took:.1f} s")
            continue
        if any(post.status_code == "01" for post in about):
            problems.append(
                f"{doc.document_id}: a 01 came but the hub could not use it "
                "(see status.valid and status.addressing)"
            )
        elif usable:
            codes = ", ".join(post.status_code or "?" for post in usable)
            problems.append(f"{doc.document_id}: got {codes} but no 01")
        else:
            problems.append(f"{doc.document_id}: no status about it within {deadline:g} s")
    if problems:
        nothing = not posts
        if nothing:
            got = "nothing was posted to the kit at all"
        elif not any(post.authorised for post in posts):
            got = "every packet posted came without the kit's token and was refused (api.token)"
        else:
            got = f"{len(problems)} of {len(news)} document(s) without a timely 01"
        return CheckResult(
            "new.answer-01",
            "fail",
            expected,
            got,
            "post status 01 (Đã đến) as soon as a new document is stored, automatically, before "
            "any clerk acts (03 and the others follow later); post it to the hub's "
            "POST /api/v1/packets with the agency's token"
            + (
                ": nothing arrived, so check the hub URL and token the system is configured with"
                if nothing
                else ""
            ),
            _listed(problems),
        )
    return CheckResult(
        "new.answer-01",
        "pass",
        expected,
        f"01 for each of {len(news)} document(s) after {min(times):.2f}–{max(times):.2f} s",
    )


_CHANGES: dict[str, tuple[str, str]] = {
    "revoke": (
        "revoke (BussinessDocType 1)",
        "recognise a packet whose TraceHeaderList/Bussiness/BussinessDocType is 1 as a "
        "revoke of the document with the same DocumentId (not as a new document), and "
        "answer it 03 (Đồng ý thu hồi) or 02 (Không đồng ý thu hồi); a revoke comes with a "
        "new delivery id, so do not deduplicate on DocumentId",
    ),
    "update": (
        "update (BussinessDocType 2)",
        "recognise a packet whose BussinessDocType is 2 as an update of the document with "
        "the same DocumentId, replace what it changes, and answer 15 (agree) or 16 "
        "(refuse); an update comes with a new delivery id, so do not deduplicate on "
        "DocumentId",
    ),
    "take-back": (
        "take-back (status 13 from the document's sender)",
        "a status packet with StatusCode 13 whose From is the document's sender asks to take "
        "that document back (lấy lại): answer it 15 (agree, give it back) or 16 (refuse), "
        "addressed to the sender of the 13 (ResponseFor/OrganId = its From/OrganId, not the "
        "13's own ResponseFor/OrganId, which is you) with the document's DocumentId and Code; "
        "it comes as a delivery of kind status (X-Lienthong-Kind: status), so do not take "
        "every incoming status for an answer to your own documents",
    ),
}
"""Per change request: how the report names it, and what to fix when it goes unanswered."""
_LOOKS_LIKE = {"02": "a revoke", "03": "a revoke", "15": "an update", "16": "an update"}


def _unusable_reason(post: Posted, agency: str, documents: Sequence[Offered]) -> str:
    """Why the hub would not carry ``post`` back as an answer, naming the element."""
    if post.issues:
        return f"it is not valid edXML ({post.issues[0]})"
    wrong = addressing_problems(post, agency, documents)
    if wrong:
        return "; ".join(wrong)
    return f"the hub refused it with {post.answer}" + (f" ({post.error})" if post.error else "")


def check_change_answer(
    purpose: ChangePurpose,
    doc: Offered,
    posts: Sequence[Posted],
    agency: str,
    documents: Sequence[Offered],
    deadline: float,
) -> CheckResult:
    """A revoke is answered 03/02, an update or a take-back 15/16, within ``deadline``."""
    check_id = f"{purpose}.answer"
    agree, refuse = CHANGE_CODES[purpose]
    what, fix = _CHANGES[purpose]
    expected = (
        f"a status {agree} (agree) or {refuse} (refuse) about {doc.document_id} within "
        f"{deadline:g} s of the {what}"
    )
    after = [post for post in _about(posts, doc.document_id) if post.at >= doc.at]
    usable = [post for post in after if _usable(post, agency, documents)]
    answer = next((post for post in usable if post.status_code in (agree, refuse)), None)
    others = [post for post in usable if post.status_code not in (agree, refuse)]
    notes = [
        f"{post.label()}: {post.status_code} is not an answer to the {purpose}" for post in others
    ]
    if answer is not None:
        took = answer.at - doc.at
        if took > deadline:
            return CheckResult(
                check_id,
                "fail",
                expected,
                f"{answer.status_code} came after {took:.1f} s",
                f"answer a {purpose} as soon as it is stored, as for a new document's 01",
                tuple(notes),
            )
        verdict = "agreed" if answer.status_code == agree else "refused"
        return CheckResult(
            check_id,
            "pass",
            expected,
            f"{answer.status_code} ({verdict}) after {took:.2f} s",
            details=tuple(notes),
        )
    unusable = next((post for post in after if post.status_code in (agree, refuse)), None)
    if unusable is not None:
        got = (
            f"an answer came ({unusable.label()}) but the hub could not use it: "
            f"{_unusable_reason(unusable, agency, documents)} (see status.valid, "
            "status.addressing)"
        )
    elif others:
        codes = ", ".join(sorted({post.status_code or "?" for post in others}))
        like = "a new document"
        if purpose == "take-back":
            looks = [_LOOKS_LIKE[code] for code in codes.split(", ") if code in _LOOKS_LIKE]
            like = looks[0] if looks else like
        got = f"only {codes}" if purpose == "revoke" else f"only {codes}, as if it were {like}"
    else:
        got = f"no status about it within {deadline:g} s"
    return CheckResult(check_id, "fail", expected, got, fix, tuple(notes))


def check_replacement(
    doc: Offered,
    replaced: Offered,
    posts: Sequence[Posted],
    agency: str,
    documents: Sequence[Offered],
    deadline: float,
) -> CheckResult:
    """A replacing document (type 3) is answered as a new one, 01 under its own DocumentId.

    Whether the replaced document is marked replaced cannot be seen from outside; what can be
    seen is that the answers name the new DocumentId and are a new document's codes.
    """
    expected = (
        f"a status 01 about the replacing document {doc.document_id} (its own DocumentId, not "
        f"the replaced {replaced.document_id}) within {deadline:g} s of the replacement "
        "(BussinessDocType 3), then only a new document's codes (02/03, 04–06), never 15/16"
    )
    fix = (
        "recognise a packet whose BussinessDocType is 3 as a new document that replaces the "
        "one named in Bussiness/ReplacementInfoList/ReplacementInfo/DocumentId: store it under "
        "its own DocumentId, answer it as a new document (01 at once, then 03 or 02) with "
        "ResponseFor copied from the replacing packet, and mark the replaced document as "
        "replaced (no status is sent about the replaced one)"
    )
    after = [post for post in _about(posts, doc.document_id) if post.at >= doc.at]
    usable = [post for post in after if _usable(post, agency, documents)]
    problems: list[str] = []
    wrong = [post for post in usable if post.status_code not in NEW_CODES]
    for post in wrong:
        like = _LOOKS_LIKE.get(post.status_code or "", "a change request")
        problems.append(
            f"{post.label()}: StatusCode {post.status_code} answers it as if it were {like}; "
            "a replacement is a new document (01, then 03 or 02)"
        )
    old = [post for post in _about(posts, replaced.document_id) if post.sender == agency]
    answered_before = {post.status_code for post in old if post.at < doc.at}
    misfiled = [
        post
        for post in old
        if post.at >= doc.at and post.status_code in answered_before | {"01", "15", "16"}
    ]
    for post in misfiled:
        problems.append(
            f"{post.label()}: ResponseFor/DocumentId names the replaced document "
            f"{replaced.document_id}; the answer to the replacement must name its own "
            f"DocumentId, {doc.document_id}"
        )
    first = next((post for post in usable if post.status_code == "01"), None)
    if first is None:
        unusable = next((post for post in after if post.status_code == "01"), None)
        if unusable is not None:
            problems.append(
                f"a 01 came ({unusable.label()}) but the hub could not use it: "
                f"{_unusable_reason(unusable, agency, documents)}"
            )
        elif not misfiled:
            codes = ", ".join(sorted({post.status_code or "?" for post in usable}))
            problems.append(
                f"no 01 about it (only {codes})"
                if usable
                else f"no status about it within {deadline:g} s"
            )
    elif first.at - doc.at > deadline:
        problems.append(f"01 came after {first.at - doc.at:.1f} s")
    if problems:
        if first is None and misfiled:
            got = (
                "answered under the replaced document's DocumentId "
                f"({', '.join(post.status_code or '?' for post in misfiled)} about "
                f"{replaced.document_id}), nothing under the replacement's own"
            )
        elif wrong:
            codes = ", ".join(dict.fromkeys(post.status_code or "?" for post in wrong))
            like = _LOOKS_LIKE.get(wrong[0].status_code or "", "a change request")
            got = f"answered {codes} about it, as if it were {like}" + (
                ", and no 01" if first is None else ""
            )
        elif first is None:
            got = problems[-1]
        else:
            got = f"{len(problems)} problem(s) with the answers to the replacement"
        return CheckResult("replace.answer", "fail", expected, got, fix, _listed(problems))
    codes = ", ".join(dict.fromkeys(post.status_code or "?" for post in usable))
    assert first is not None
    return CheckResult(
        "replace.answer",
        "pass",
        expected,
        f"answered as a new document under its own DocumentId: {codes}; 01 after "
        f"{first.at - doc.at:.2f} s",
        details=(
            f"whether {replaced.document_id} is now marked replaced cannot be seen from "
            "outside the system: check it there",
        ),
    )


def _order_problems(statuses: Sequence[Posted], documents: Sequence[Offered]) -> list[str]:
    """Steps back in 01 → 03 → 04 → 05 → 06, and progress after 02, per document.

    A code repeated is not a step back (repeats are the redelivery check's business), and
    statuses after a document's revoke answer the revoke, so they are left out.
    """
    revoked: dict[str, float] = {}
    for doc in documents:
        if doc.purpose == "revoke":
            revoked[doc.document_id] = min(doc.at, revoked.get(doc.document_id, doc.at))
    problems: list[str] = []
    by_document: dict[str, list[Posted]] = {}
    for post in sorted(statuses, key=lambda p: p.at):
        if post.response_for is None or not post.response_for.document_id:
            continue
        document_id = post.response_for.document_id
        if post.at >= revoked.get(document_id, float("inf")):
            continue
        by_document.setdefault(document_id, []).append(post)
    for document_id, about in by_document.items():
        seen: set[str] = set()
        top: Posted | None = None
        refused: Posted | None = None
        for post in about:
            code = post.status_code or ""
            if code == "02":
                refused = refused or post
                continue
            if code not in PROGRESSION:
                continue
            if refused is not None and code != "01":
                problems.append(
                    f"{document_id}: {code} at {post.at:.2f} s came after 02 (refused) at "
                    f"{refused.at:.2f} s; a refused document is not registered, assigned or "
                    "processed"
                )
            if code in seen:
                continue
            seen.add(code)
            if top is not None and PROGRESSION.index(code) < PROGRESSION.index(
                top.status_code or ""
            ):
                problems.append(
                    f"{document_id}: {code} at {post.at:.2f} s came after {top.status_code} at "
                    f"{top.at:.2f} s; the order is 01 → 03 → 04 → 05 → 06"
                )
                continue
            if top is None or PROGRESSION.index(code) > PROGRESSION.index(top.status_code or ""):
                top = post
    return problems


def check_progress(
    posts: Sequence[Posted], agency: str, documents: Sequence[Offered]
) -> CheckResult:
    """Statuses 04 and 05, when sent, are valid, addressed and in the order of the progression.

    They are optional (a clerk assigns and processes, the hub accepts a progression that skips
    steps), so none observed is a note, not a failure.
    """
    expected = (
        "04 (assigned) and 05 (being processed) are optional; each one posted is valid edXML, "
        f"comes From {agency} with ResponseFor copied from the document, and keeps each "
        "document's statuses in the order 01 → 03 → 04 → 05 → 06 (no step back, nothing "
        "after 02)"
    )
    statuses = _statuses(posts)
    if not statuses:
        return CheckResult("status.progress", "skip", expected, "no status was posted")
    progress = [post for post in statuses if post.status_code in PROGRESS_CODES]
    unusable = [
        f"{post.label()}: {_unusable_reason(post, agency, documents)}"
        for post in progress
        if not _usable(post, agency, documents)
    ]
    reported = [post for post in statuses if not post.issues and post.sender == agency]
    order = _order_problems(reported, documents)
    counted = Counter(post.status_code for post in progress)
    missing = [code for code in PROGRESS_CODES if not counted[code]]
    if unusable or order:
        parts = []
        if unusable:
            parts.append(
                f"{len(unusable)} of {len(progress)} progress status(es) (04/05) cannot be "
                "used by the hub"
            )
        if order:
            parts.append(
                f"{len(order)} status(es) break the order 01 → 03 → 04 → 05 → 06 of their document"
            )
        fixes = []
        if order:
            fixes.append(
                "post a document's statuses in the order its handling goes (01 when it arrives, "
                "03 when registered, 04 when assigned, 05 while processed, 06 when completed), "
                "from one queue per document so a later step is never posted before an earlier "
                "one, and nothing after 02"
            )
        if unusable:
            fixes.append(
                "build 04 and 05 like the 01: valid edXML, From/OrganId = your agency's code "
                "(not the code of the department or person handling it; put those in "
                "StaffInfo), ResponseFor copied from the document"
            )
        return CheckResult(
            "status.progress",
            "fail",
            expected,
            "; ".join(parts),
            "; ".join(fixes),
            _listed(unusable + order),
        )
    note = (
        "04 and 05 follow a clerk's assignment and processing, which a run of a few seconds "
        "does not wait for; to have them judged, assign and process one of the kit's "
        "documents during the run (raise --deadline and --settle)"
    )
    if not progress:
        return CheckResult(
            "status.progress",
            "pass",
            expected,
            "not observed: no 04 or 05 came during the run (optional, so not a failure); "
            "the other statuses came in order",
            details=(note,),
        )
    about = len({post.response_for.document_id for post in progress if post.response_for})
    seen = " and ".join(f"{code} ×{counted[code]}" for code in PROGRESS_CODES if counted[code])
    got = f"{seen} about {about} document(s), each valid, addressed and in order"
    if missing:
        got += f"; {' and '.join(missing)} not observed (optional)"
    return CheckResult("status.progress", "pass", expected, got)


def check_redelivery(
    doc: Offered,
    redelivered_at: float,
    posts: Sequence[Posted],
    agency: str,
    channel_problem: str | None,
    channel: Literal["webhook", "inbox", "vxp"],
) -> CheckResult:
    """The same delivery offered again is taken without a second set of statuses."""
    expected = (
        f"the same delivery ({doc.delivery_id}, same bytes) offered again is "
        + ("answered 2xx" if channel == "webhook" else "acknowledged done again")
        + ", with no second set of statuses"
    )
    about = [post for post in _about(posts, doc.document_id) if post.sender == agency]
    key = "docId" if channel == "vxp" else "X-Lienthong-Delivery-Id"
    fix = (
        f"keep the {key} of every packet stored; when one comes again, "
        + ("answer 2xx at once" if channel == "webhook" else "acknowledge it done again")
        + " without storing it twice or posting statuses again (the hub delivers at least "
        "once: retries and replays keep the delivery id)"
    )
    counts = Counter(post.status_code for post in about)
    repeated = sorted(code or "?" for code, seen in counts.items() if seen > 1)
    problems: list[str] = []
    if channel_problem:
        problems.append(channel_problem)
    if repeated:
        times = "; ".join(
            f"{code} {counts[code]} times (at "
            + ", ".join(f"{post.at:.2f}" for post in about if post.status_code == code)
            + " s)"
            for code in repeated
        )
        problems.append(
            f"statuses about {doc.document_id} came again after the delivery was offered again "
            f"at {redelivered_at:.2f} s: {times}"
        )
    if problems:
        return CheckResult("dedupe.redelivery", "fail", expected, "; ".join(problems), fix)
    if not about:
        return CheckResult(
            "dedupe.redelivery",
            "skip",
            expected,
            "cannot be judged: the system never answered the first delivery (see new.answer-01)",
        )
    codes = ", ".join(sorted(code or "?" for code in counts))
    return CheckResult(
        "dedupe.redelivery",
        "pass",
        expected,
        f"taken again without a new status (statuses about it: {codes}, once each)",
    )


# -- the webhook channel --------------------------------------------------------------------


def push_problem(attempt: PushAttempt, timeout: float | None = None) -> str | None:
    """Why the hub would not count this push as delivered, in plain words; None when 2xx."""
    status = attempt.status
    answer = f": {attempt.answer}" if attempt.answer else ""
    if status is None:
        limit = f" within {timeout:g} s" if timeout else ""
        return (
            f"{attempt.key}: no answer{limit} ({attempt.error}); the hub retries later, "
            "so the packet is late"
        )
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return (
            f"{attempt.key}: answered a redirect ({status}); the hub does not follow redirects "
            "and parks the delivery: register the final URL"
        )
    if status in (401, 403):
        return (
            f"{attempt.key}: refused a correctly signed, fresh request with {status}{answer}; "
            "check the secret and the signature scheme (HMAC-SHA256 of "
            "'<X-Lienthong-Timestamp>.<body>', lowercase hex, sent as 'sha256=<hex>') and "
            "the system's clock"
        )
    if status in (408, 425, 429) or status >= 500:
        return (
            f"{attempt.key}: answered {status}{answer}; the hub treats it as passing and "
            "retries, so the packet is late"
        )
    return (
        f"{attempt.key}: refused with {status}{answer}; on a 4xx the hub parks the delivery "
        "at once and an operator has to replay it"
    )


def check_webhook_accepts(attempts: Sequence[PushAttempt], timeout: float) -> CheckResult:
    """Every correctly signed, fresh push is answered 2xx."""
    expected = f"2xx to each of {len(attempts)} correctly signed deliveries"
    problems = [problem for attempt in attempts if (problem := push_problem(attempt, timeout))]
    if problems:
        return CheckResult(
            "webhook.accepts",
            "fail",
            expected,
            f"{len(problems)} of {len(attempts)} not taken",
            "answer 2xx as soon as the packet is stored (before any processing), and a "
            "4xx only for a request that must never be sent again",
            _listed(problems),
        )
    slowest = max((attempt.seconds for attempt in attempts), default=0.0)
    return CheckResult(
        "webhook.accepts",
        "pass",
        expected,
        f"all {len(attempts)} answered 2xx (slowest {slowest * 1000:.0f} ms)",
    )


_REFUSALS: dict[str, tuple[str, str]] = {
    "webhook.bad-signature": (
        "X-Lienthong-Signature made with another secret",
        "compute HMAC-SHA256 over '<X-Lienthong-Timestamp>.<body>' with your secret, compare "
        "it in constant time with each 'sha256=' value of X-Lienthong-Signature, and answer "
        "401 when none matches: otherwise anyone who reaches the URL can inject documents",
    ),
    "webhook.stale-timestamp": (
        "a correct signature over a timestamp 10 minutes old",
        "refuse (401) a request whose X-Lienthong-Timestamp is more than 5 minutes from your "
        "clock, so a captured request cannot be replayed; keep the clock synchronised (NTP)",
    ),
    "webhook.unsigned": (
        "no X-Lienthong-Signature header at all",
        "refuse (401) a request without X-Lienthong-Signature: a signature check that is "
        "skipped when the header is missing protects nothing",
    ),
}


def check_webhook_refusal(
    check_id: str, attempt: PushAttempt | None, posts: Sequence[Posted], doc: Offered | None
) -> CheckResult:
    """A forged or replayed push is refused with a 4xx, and not acted upon."""
    sent, fix = _REFUSALS[check_id]
    expected = f"a 4xx (401 or 403) to a delivery with {sent}"
    if attempt is None or doc is None:
        return CheckResult(check_id, "skip", expected, "not tried")
    acted = _about(posts, doc.document_id)
    status = attempt.status
    if status is None:
        got = f"no answer ({attempt.error})"
    elif 200 <= status < 300:
        got = f"accepted it with {status}"
    elif status in (408, 425, 429) or status >= 500:
        got = f"answered {status}, which the hub retries as a passing failure"
        fix = "answer 401 (not a 5xx) to a request that fails the signature check; " + fix
    elif 400 <= status < 500:
        if acted:
            return CheckResult(
                check_id,
                "fail",
                expected,
                f"refused it with {status} but still acted on it: "
                + ", ".join(post.label() for post in acted),
                "check the signature before storing or processing anything",
            )
        return CheckResult(check_id, "pass", expected, f"refused with {status}")
    else:
        got = f"answered {status}"
    if acted:
        got += "; it then posted " + ", ".join(post.label() for post in acted)
    return CheckResult(check_id, "fail", expected, got, fix)


def webhook_redelivery_problem(attempt: PushAttempt | None) -> str | None:
    """What is wrong with the answer to a webhook redelivery (it must be 2xx)."""
    if attempt is None:
        return "the redelivery was not made"
    problem = push_problem(attempt)
    if problem is None:
        return None
    return (
        f"the redelivery was not answered 2xx ({problem.removeprefix(attempt.key + ': ')}); "
        "a packet already stored must be answered 2xx again, or the hub keeps retrying or "
        "parks it"
    )


# -- the inbox channel ----------------------------------------------------------------------


def _first_ack(view: InboxView, since: float, until: float | None = None) -> Ack | None:
    return next(
        (ack for ack in view.acks if ack.at >= since and (until is None or ack.at < until)), None
    )


def _taken_problem(view: InboxView, deadline: float) -> str | None:
    ack = _first_ack(view, view.offered_at, view.reoffered_at)
    fetched = [
        fetch
        for fetch in view.fetches
        if fetch.at >= view.offered_at and (ack is None or fetch.at <= ack.at)
    ]
    if ack is None:
        if not fetched:
            return (
                f"{view.key} ({view.delivery_id}): never fetched; list GET /api/v1/inbox "
                "regularly and fetch each item with GET /api/v1/inbox/{delivery_id}"
            )
        return (
            f"{view.key}: fetched at {fetched[0].at:.2f} s but never acknowledged; POST "
            '/api/v1/inbox/{delivery_id}/ack {"result": "done"} once it is stored, or the '
            "hub keeps it undelivered"
        )
    if not fetched:
        return f"{view.key}: acknowledged {ack.result} without fetching it"
    if not any(fetch.complete for fetch in fetched):
        return f"{view.key}: acknowledged {ack.result} although the download was cut short"
    if ack.result != "done":
        return (
            f"{view.key}: acknowledged fail ({ack.reason or 'no reason given'}) an intact, valid "
            "packet; 'fail' tells the hub the system cannot take it"
        )
    took = ack.at - view.offered_at
    if took > deadline:
        return f"{view.key}: acknowledged after {took:.1f} s (deadline {deadline:g} s)"
    return None


def check_inbox_taken(views: Sequence[InboxView], deadline: float) -> CheckResult:
    """Every delivery offered is fetched whole and acknowledged done within the deadline."""
    expected = (
        f"each of {len(views)} deliveries listed, fetched whole and acknowledged done within "
        f"{deadline:g} s"
    )
    problems = [problem for view in views if (problem := _taken_problem(view, deadline))]
    if problems:
        return CheckResult(
            "inbox.fetch-ack",
            "fail",
            expected,
            f"{len(problems)} of {len(views)} not taken as the hub expects",
            "poll GET /api/v1/inbox, fetch each delivery, store the bytes exactly as fetched, "
            "then acknowledge it done (fail only for a packet you cannot take, with a reason)",
            _listed(problems),
        )
    return CheckResult("inbox.fetch-ack", "pass", expected, f"all {len(views)} taken and acked")


def check_inbox_integrity(view: InboxView | None) -> CheckResult:
    """A fetched packet whose bytes do not match ``X-Lienthong-Sha256`` is not acked done."""
    expected = (
        "a fetched packet whose bytes do not match X-Lienthong-Sha256 is acknowledged fail "
        "(or fetched again), not done"
    )
    if view is None:
        return CheckResult("inbox.integrity", "skip", expected, "not tried")
    fix = (
        "compare the SHA-256 of the bytes fetched with the X-Lienthong-Sha256 header (and the "
        "length with Content-Length) before storing; on a mismatch fetch again or acknowledge "
        "fail with the reason"
    )
    ack = _first_ack(view, view.offered_at)
    if ack is None:
        if not view.fetches:
            return CheckResult("inbox.integrity", "warn", expected, "it was never fetched", fix)
        return CheckResult(
            "inbox.integrity", "pass", expected, "not acknowledged done (left in the inbox)"
        )
    if ack.result == "done":
        return CheckResult(
            "inbox.integrity",
            "warn",
            expected,
            f"acknowledged done at {ack.at:.2f} s a packet whose bytes were altered in transit",
            fix,
        )
    return CheckResult(
        "inbox.integrity", "pass", expected, f"acknowledged fail ({ack.reason or 'no reason'})"
    )


def inbox_redelivery_problem(view: InboxView | None) -> str | None:
    """What is wrong with how an inbox delivery made available again was handled."""
    if view is None or view.reoffered_at is None:
        return "the delivery was not offered again"
    ack = _first_ack(view, view.reoffered_at)
    if ack is None:
        return (
            f"offered again at {view.reoffered_at:.2f} s, it was never acknowledged again, so it "
            "stays in the inbox: acknowledge a delivery you already hold done again"
        )
    if ack.result != "done":
        return (
            f"offered again, it was acknowledged fail ({ack.reason or 'no reason'}): a delivery "
            "you already hold is acknowledged done again"
        )
    return None


# -- the VXP endpoint (systems built on the national axis's SDK) ---------------------------

_VXP_FLOW = (
    "poll getReceivedEdocList (edoc and status), fetch each docId with getEdoc, store the "
    "bytes exactly as fetched, then updateStatus done (fail only for a packet you cannot read)"
)


def check_vxp_signature(calls: Sequence[VxpCall]) -> CheckResult:
    """Every VXP call carried a signature that verifies under the system's secret."""
    expected = (
        "every call signed as the SDK signs it: XroadVnpt-sign-header over the system id and "
        "parameters, XroadVnpt-hash-header = HMAC-SHA256 under the system's secret"
    )
    refused = [call for call in calls if not call.authorised]
    if refused:
        return CheckResult(
            "vxp.signature",
            "fail",
            expected,
            f"{len(refused)} of {len(calls)} call(s) were refused as the hub refuses them "
            "(ErrorCode AUTH_FAILED)",
            "configure the SDK with the system id and secret the kit printed (on the hub: "
            "`lienthong agency vxp-secret CODE`), and send the headers the SDK writes, unchanged",
            _listed([f"{call.operation} at {call.at:.2f} s: {call.reason}" for call in refused]),
        )
    if not calls:
        return CheckResult("vxp.signature", "skip", expected, "the system made no VXP call")
    return CheckResult("vxp.signature", "pass", expected, f"{len(calls)} call(s), all signed")


def _vxp_taken_problem(view: InboxView, deadline: float) -> str | None:
    ack = _first_ack(view, view.offered_at, view.reoffered_at)
    fetched = [
        fetch
        for fetch in view.fetches
        if fetch.at >= view.offered_at and (ack is None or fetch.at <= ack.at)
    ]
    if ack is None:
        if not fetched:
            return (
                f"{view.key} (docId {view.delivery_id}): never fetched; poll "
                "getReceivedEdocList and fetch each docId with getEdoc"
            )
        return (
            f"{view.key}: fetched at {fetched[0].at:.2f} s but never acknowledged; call "
            "updateStatus done once it is stored, or the hub keeps listing it"
        )
    if not fetched:
        return f"{view.key}: updateStatus {ack.result} without fetching it"
    if ack.result != "done":
        return (
            f"{view.key}: updateStatus fail for a valid packet; fail tells the hub the system "
            "cannot take it"
        )
    took = ack.at - view.offered_at
    if took > deadline:
        return f"{view.key}: acknowledged after {took:.1f} s (deadline {deadline:g} s)"
    return None


def check_vxp_taken(views: Sequence[InboxView], deadline: float) -> CheckResult:
    """Every delivery offered is fetched and acknowledged done within the deadline."""
    expected = (
        f"each of {len(views)} deliveries listed, fetched (getEdoc) and acknowledged done "
        f"(updateStatus) within {deadline:g} s"
    )
    problems = [problem for view in views if (problem := _vxp_taken_problem(view, deadline))]
    if problems:
        return CheckResult(
            "vxp.receive",
            "fail",
            expected,
            f"{len(problems)} of {len(views)} not taken as the hub expects",
            _VXP_FLOW,
            _listed(problems),
        )
    return CheckResult("vxp.receive", "pass", expected, f"all {len(views)} taken and acked")


def check_vxp_unreadable(view: InboxView | None) -> CheckResult:
    """A packet that cannot be read as edXML is acknowledged fail, not done."""
    expected = "a fetched packet that is not readable edXML is acknowledged with updateStatus fail"
    if view is None:
        return CheckResult("vxp.unreadable", "skip", expected, "not tried")
    fix = (
        "read the packet (edXML) before acknowledging it; if it cannot be read, call "
        "updateStatus fail so that its sender learns it was not taken (DOMAIN.md §7)"
    )
    ack = _first_ack(view, view.offered_at)
    if ack is None:
        got = "it was never fetched" if not view.fetches else "it was never acknowledged"
        return CheckResult(
            "vxp.unreadable",
            "warn",
            expected,
            f"{got}: the hub keeps listing it and its sender never learns why",
            fix,
        )
    if ack.result == "done":
        return CheckResult(
            "vxp.unreadable",
            "fail",
            expected,
            f"acknowledged done at {ack.at:.2f} s a packet that is not readable edXML: the hub "
            "counts it delivered though the system could not take it",
            fix,
        )
    return CheckResult("vxp.unreadable", "pass", expected, f"acknowledged {ack.result}")


def check_vxp_sends(calls: Sequence[VxpCall]) -> CheckResult:
    """Packets sent through sendEdoc say their own kind and carry their own hash-file."""
    expected = (
        "every sendEdoc names the packet's kind (messagetype status for a status packet) and "
        "a hash-file that is the SHA-256 of the packet"
    )
    sends = [call for call in calls if call.operation == "sendEdoc" and call.authorised]
    wrong = [
        call for call in sends if call.error_code in ("HASH_MISMATCH", "MESSAGE_TYPE_MISMATCH")
    ]
    if wrong:
        return CheckResult(
            "vxp.send",
            "fail",
            expected,
            f"{len(wrong)} of {len(sends)} sendEdoc call(s) refused as the hub refuses them",
            "send status packets with messagetype status (documents: edoc), and the file's "
            "bytes as given to the SDK, whose hash-file the SDK computes",
            _listed([f"sendEdoc at {call.at:.2f} s: {call.reason}" for call in wrong]),
        )
    if not sends:
        return CheckResult("vxp.send", "skip", expected, "the system sent nothing through sendEdoc")
    return CheckResult("vxp.send", "pass", expected, f"{len(sends)} packet(s) sent rightly")
