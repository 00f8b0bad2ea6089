"""The monitoring console in a real browser, on a hub filled by a real run.

The city's agencies send documents across the three levels, with signed, unsigned and no PDFs;
their recipients answer 01 and 03 (one also 06), one commune answers nothing, and one
commune's webhook answers 404 so the deliveries to it park. Then, in headless Chromium: each
role signs in and loads every page; the figures shown are the ones the run makes; search
works with and without accents; a document's page shows each recipient's timeline; the
agencies table exports to CSV and XLSX; an operator replays a parked delivery and sees it
delivered, a viewer cannot; a user changes their own password and signs in with it; the
language switches to English and back.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from edxml import FileToAttach
from hub.console.i18n import translator
from hub.console.web import Formatter
from hub.settings import Settings
from simulators import pdfs
from simulators.agencies import SILENT, Behaviour, Reply, SentDocument

from ..city import (
    CITY,
    COMMUNE,
    COMMUNE_OTHER,
    COMMUNE_WEBHOOK,
    DEPT_FINANCE,
    DEPT_HOME,
    DEPT_IT,
    DISTRICT,
    MEMBERS,
)
from ..system import System
from .browser import DOCS_SCREENSHOT, ROLES, Account, Console, add_user

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.e2e

LEVELS = {member.code: member.level for member in MEMBERS}
PARENTS = {member.code: member.parent for member in MEMBERS}
REFUSING = COMMUNE_WEBHOOK
"""Its webhook answers 404: deliveries to it park."""
SILENT_COMMUNE = COMMUNE_OTHER
"""Takes delivery and answers nothing: its documents stay unacknowledged."""
COMPLETING = DEPT_HOME
"""Answers 01, 03 and 06."""
ANSWERS = dict.fromkeys(LEVELS, ("01", "03")) | {
    SILENT_COMMUNE: (),
    COMPLETING: ("01", "03", "06"),
    REFUSING: (),
}
"""What each recipient ends up answering a document it received."""
REASON = "Xã Tân Phú đã sửa địa chỉ nhận văn bản"
PAGES = ("overview", "agencies", "documents", "unacknowledged", "failures", "peers", "audit")


@dataclass(frozen=True)
class Planned:
    """A document to send: who to whom, with which PDF, about what."""

    sender: str
    recipients: tuple[str, ...]
    pdf: str
    """``signed``, ``unsigned`` or ``no-pdf`` (a Word file only)."""
    subject: str


PLAN = (
    Planned(
        CITY,
        (DISTRICT, DEPT_HOME, DEPT_IT),
        "signed",
        "Về việc triển khai Kế hoạch chuyển đổi số năm 2026",
    ),
    Planned(DEPT_FINANCE, (CITY,), "signed", "Báo cáo quyết toán ngân sách quý III"),
    Planned(DEPT_HOME, (CITY, DEPT_FINANCE), "unsigned", "Kế hoạch tuyển dụng công chức năm 2026"),
    Planned(DEPT_IT, (REFUSING,), "signed", "Hướng dẫn sử dụng chữ ký số chuyên dùng"),
    Planned(
        DISTRICT,
        (COMMUNE, REFUSING, SILENT_COMMUNE),
        "signed",
        "Về việc phòng, chống thiên tai mùa mưa bão",
    ),
    Planned(DISTRICT, (CITY,), "unsigned", "Báo cáo tình hình kinh tế - xã hội tháng 11"),
    Planned(COMMUNE, (DISTRICT,), "signed", "Tờ trình đề nghị hỗ trợ kinh phí sửa đường liên xã"),
    Planned(COMMUNE, (DISTRICT, DEPT_HOME), "unsigned", "Báo cáo kết quả chuyển đổi số cấp xã"),
    Planned(
        SILENT_COMMUNE, (DISTRICT,), "no-pdf", "Đề nghị cấp kinh phí tổ chức lễ hội truyền thống"
    ),
)


@dataclass(frozen=True)
class Run:
    """The documents as sent, and what the hub must show of them."""

    sent: tuple[SentDocument, ...]

    def documents_sent(self, code: str) -> int:
        return sum(1 for item in PLAN if item.sender == code)

    def received(self, code: str) -> int:
        return sum(1 for item in PLAN if code in item.recipients)

    def signed_share(self, codes: set[str]) -> float | None:
        mine = [item for item in PLAN if item.sender in codes]
        return 100.0 * sum(i.pdf == "signed" for i in mine) / len(mine) if mine else None

    def statuses(self) -> int:
        return sum(len(ANSWERS[r]) for item in PLAN for r in item.recipients)

    def parked(self) -> list[tuple[SentDocument, str]]:
        """(document, delivery id) of every delivery to the refusing commune."""
        return [
            (sent, sent.accepted.delivery_to(REFUSING).delivery_id)
            for sent, item in zip(self.sent, PLAN, strict=True)
            if REFUSING in item.recipients
        ]

    def document(self, subject_part: str) -> SentDocument:
        (found,) = [s for s, i in zip(self.sent, PLAN, strict=True) if subject_part in i.subject]
        return found


def _make_pdfs() -> dict[str, bytes]:
    """A PDF signed by a certificate of a test CA, and the same PDF unsigned."""
    authority = pdfs.Authority.create("CA Thử nghiệm")
    signer = authority.issue("Nguyễn Văn An", "UBND tỉnh Hòa Bình Mới")
    blank = pdfs.blank_pdf("Van ban so 1/UBND-VP")
    return {"signed": pdfs.sign(blank, signer), "unsigned": blank}


def _files(kind: str, made: dict[str, bytes], number: int) -> list[FileToAttach]:
    if kind == "no-pdf":
        return [FileToAttach(b"PK\x03\x04 to trinh", name=f"to-trinh-{number}.docx")]
    return [FileToAttach(made[kind], name=f"van-ban-{number}.pdf")]


def _settled(system: System, run_: list[SentDocument]) -> bool:
    """Every recipient reached what it answers; deliveries to the refusing commune parked,
    every other delivery (statuses back included) delivered."""
    for sent, item in zip(run_, PLAN, strict=True):
        timeline = system.operator.timeline(sent.packet.document_id)
        statuses = {row["recipient"]: row["status"] for row in timeline["recipients"]}
        for packet in timeline["packets"]:
            for delivery in packet["deliveries"]:
                wanted = "parked" if delivery["recipient"] == REFUSING else "delivered"
                if delivery["state"] != wanted:
                    return False
        for recipient in item.recipients:
            answers = ANSWERS[recipient]
            if statuses.get(recipient) != (answers[-1] if answers else None):
                return False
        kinds = Counter(packet["kind"] for packet in timeline["packets"])
        if kinds["status"] != sum(len(ANSWERS[r]) for r in item.recipients):
            return False
    return True


@pytest.fixture(scope="module")
def run(system: System) -> Iterator[Run]:
    """The documents of the plan, sent and settled."""
    # pyHanko signs in an event loop of its own: not in this thread, where the browser's is.
    with ThreadPoolExecutor(1) as pool:
        made = pool.submit(_make_pdfs).result()
    endpoint = system.endpoints[REFUSING]
    before = {code: system.agency(code).behaviour for code in (SILENT_COMMUNE, COMPLETING)}
    endpoint.reply = Reply(404, b'{"error": "no route /edxml on this server"}')
    system.agency(SILENT_COMMUNE).behaviour = SILENT
    system.agency(COMPLETING).behaviour = Behaviour(new=("01", "03", "06"))
    try:
        sent = [
            system.agency(item.sender).send_document(
                list(item.recipients), subject=item.subject, files=_files(item.pdf, made, n)
            )
            for n, item in enumerate(PLAN, start=1)
        ]
        system.eventually(
            lambda: _settled(system, sent),
            "every document delivered and answered; the refusing commune's deliveries parked",
        )
        yield Run(tuple(sent))
    finally:
        endpoint.reply = Reply()
        for code, behaviour in before.items():
            system.agency(code).behaviour = behaviour


@pytest.fixture(scope="module")
def vi() -> Formatter:
    return Formatter("vi")


def _shot(page: Page, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _cells(row: Locator) -> list[str]:
    return [text.strip() for text in row.locator("td").all_inner_texts()]


def _codes(page: Page) -> list[str]:
    return [
        str(code)
        for code in page.locator("#agencies-table tbody tr[data-code]").evaluate_all(
            "rows => rows.map(row => row.dataset.code)"
        )
    ]


def _reload_until(page: Page, locator: Locator, what: str, seconds: float = 20.0) -> None:
    """Reload until ``locator`` is on the page (figures that age into view)."""
    deadline = time.monotonic() + seconds
    while locator.count() == 0:
        assert time.monotonic() < deadline, f"not shown within {seconds:.0f} s: {what}"
        time.sleep(0.5)
        page.reload()


# -- signing in and every page ---------------------------------------------------------------


def test_a_wrong_password_is_refused_on_the_sign_in_form(console: Console) -> None:
    page = console.new_page()
    page.goto("/console/login")
    page.get_by_test_id("login-name").fill(console.accounts["viewer"].name)
    page.get_by_test_id("login-password").fill("not-the-password")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_test_id("login-submit").click()

    assert answer.value.status == 401
    assert page.get_by_test_id("login-error").is_visible()
    assert page.get_by_test_id("current-user").count() == 0


def test_a_page_asked_for_before_signing_in_leads_to_the_sign_in_form(console: Console) -> None:
    page = console.new_page()
    page.goto("/console/failures?state=parked")

    assert page.get_by_test_id("login-form").is_visible()
    assert "next=" in page.url


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_and_loads_every_page(
    console: Console, run: Run, artifacts: Path, role: str
) -> None:
    page = console.page_of(role)
    account = console.accounts[role]
    statuses = {}
    for name in PAGES:
        with page.expect_response(lambda r: r.request.resource_type == "document") as loaded:
            page.get_by_test_id(f"nav-{name}").click()
        page.wait_for_load_state()
        statuses[name] = loaded.value.status
        assert page.get_by_test_id("error-page").count() == 0, f"{name}: {page.inner_text('main')}"
        assert page.locator("body").get_attribute("data-page") == name
        if role == "viewer":
            _shot(page, artifacts, f"console-{name}")

    assert statuses == dict.fromkeys(PAGES, 200)
    assert account.name in page.get_by_test_id("current-user").inner_text()
    assert (page.get_by_test_id("nav-users").count() == 1) is (role == "admin")


# -- what the pages show -----------------------------------------------------------------------


def test_the_overview_counts_the_runs_documents_statuses_and_parked_deliveries(
    console: Console, run: Run, vi: Formatter, artifacts: Path
) -> None:
    page = console.page_of("viewer")
    page.goto("/console/?window=30d")
    table = page.get_by_test_id("transport-table")

    def last_column(row: str) -> str:
        return _cells(table.locator(f"tr[data-row='{row}']"))[-1]

    deliveries = sum(len(item.recipients) for item in PLAN) + run.statuses()
    parked = len(run.parked())
    assert last_column("documents") == vi.num(len(PLAN))
    assert last_column("statuses") == vi.num(run.statuses())
    assert last_column("parked") == vi.num(parked)
    assert last_column("delivered") == vi.num(deliveries - parked)
    for level in sorted(set(LEVELS.values()) - {1}):
        codes = {code for code, lvl in LEVELS.items() if lvl == level}
        row = page.get_by_test_id("levels-table").locator(f"tr[data-level='{level}']")
        signed = row.locator("td[data-metric='signed']").inner_text()
        assert signed.startswith(vi.pct(run.signed_share(codes))), (level, signed)
    if DOCS_SCREENSHOT.parent.is_dir() and _docs_screenshot_asked():
        page.set_viewport_size({"width": 1366, "height": 900})
        page.screenshot(path=str(artifacts / "console-overview-readme.png"))
        shutil.copyfile(artifacts / "console-overview-readme.png", DOCS_SCREENSHOT)


def _docs_screenshot_asked() -> bool:
    return os.environ.get("LIENTHONG_DOCS_SCREENSHOT", "").lower() in {"1", "true", "yes"}


def test_the_agencies_table_flags_units_under_the_signed_threshold_and_sorts_by_share(
    console: Console, run: Run
) -> None:
    page = console.page_of("viewer")
    page.goto("/console/agencies?window=30d")
    threshold = Settings().console.flag_below
    shares = {code: run.signed_share({code}) for code in LEVELS}
    flagged = {code for code, share in shares.items() if share is not None and share < threshold}

    shown_flagged = {
        str(code)
        for code in page.locator("#agencies-table tbody tr[data-flagged='1']").evaluate_all(
            "rows => rows.map(row => row.dataset.code)"
        )
    }
    page.get_by_test_id("sort-signed").click()
    ascending = _codes(page)
    page.get_by_test_id("sort-signed").click()
    descending = _codes(page)

    by_code = sorted(LEVELS)
    present = [code for code in by_code if shares[code] is not None]
    missing = [code for code in by_code if shares[code] is None]
    assert shown_flagged == flagged
    assert ascending == sorted(present, key=lambda c: shares[c] or 0.0) + missing
    assert descending == sorted(present, key=lambda c: shares[c] or 0.0, reverse=True) + missing


def test_drilling_down_from_the_district_lists_its_communes_and_leads_back_up(
    console: Console, run: Run
) -> None:
    page = console.page_of("viewer")
    page.goto("/console/agencies?window=30d")
    page.get_by_test_id(f"drill-{DISTRICT}").click()
    communes = sorted(_codes(page))
    page.get_by_test_id("drill-up").locator("a").click()

    assert communes == sorted(code for code, parent in PARENTS.items() if parent == DISTRICT)
    assert DISTRICT in _codes(page)


def _export(page: Page, test_id: str, artifacts: Path) -> Path:
    with page.expect_download() as started:
        page.get_by_test_id(test_id).click()
    download = started.value
    kept = artifacts / download.suggested_filename
    download.save_as(str(kept))
    return kept


def _expected_export(run: Run, _: Any) -> dict[str, dict[str, Any]]:
    """Per agency, the export's columns the run determines: sent, received, signed share."""
    expected = {}
    for code in LEVELS:
        share = run.signed_share({code})
        expected[code] = {
            _("agency.sent"): run.documents_sent(code),
            _("agency.received"): run.received(code),
            _("agency.signed_share") + " (%)": None if share is None else round(share, 1),
        }
    return expected


def test_the_csv_export_holds_every_agency_with_its_figures(
    console: Console, run: Run, artifacts: Path
) -> None:
    page = console.page_of("viewer")
    page.goto("/console/agencies?window=30d")
    path = _export(page, "export-csv", artifacts)
    _ = translator("vi")

    text = path.read_bytes().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    code = _("agency.code")
    expected = _expected_export(run, _)
    shown = {
        row[code]: {
            column: (None if row[column] == "" else float(row[column]))
            for column in expected[row[code]]
        }
        for row in rows
    }

    assert path.suffix == ".csv"
    assert text.startswith("\ufeff")
    assert shown == {
        code: {k: (None if v is None else float(v)) for k, v in columns.items()}
        for code, columns in expected.items()
    }


def test_the_xlsx_export_holds_the_same_table_with_numbers_as_numbers(
    console: Console, run: Run, artifacts: Path
) -> None:
    from openpyxl import load_workbook

    page = console.page_of("viewer")
    page.goto("/console/agencies?window=30d")
    path = _export(page, "export-xlsx", artifacts)
    _ = translator("vi")

    sheet = load_workbook(path, read_only=True).worksheets[0]
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    expected = _expected_export(run, _)
    columns = {name: header.index(name) for name in next(iter(expected.values()))}
    shown = {
        row[header.index(_("agency.code"))]: {name: row[i] for name, i in columns.items()}
        for row in rows
    }

    assert path.suffix == ".xlsx"
    assert shown == expected


@pytest.mark.parametrize(
    "typed",
    ["chuyển đổi số", "chuyen doi so", "CHUYỂN ĐỔI SỐ"],
    ids=["with-accents", "without-accents", "upper-case"],
)
def test_search_finds_documents_with_or_without_accents(
    console: Console, run: Run, typed: str
) -> None:
    page = console.page_of("viewer")
    page.goto("/console/documents")
    page.get_by_test_id("search-q").fill(typed)
    page.get_by_test_id("search-submit").click()
    found = page.locator("#documents-table tbody tr[data-packet]").evaluate_all(
        "rows => rows.map(row => row.dataset.packet)"
    )

    assert sorted(found) == sorted(
        sent.accepted.packet_id
        for sent, item in zip(run.sent, PLAN, strict=True)
        if "chuyển đổi số" in item.subject
    )


def test_a_search_matching_nothing_says_so(console: Console, run: Run) -> None:
    page = console.page_of("viewer")
    page.goto("/console/documents?q=" + "khong co van ban nay")

    assert page.get_by_test_id("no-results").is_visible()


def test_a_documents_page_shows_each_recipients_timeline(
    console: Console, run: Run, artifacts: Path
) -> None:
    page = console.page_of("viewer")
    sent = run.document("thiên tai")
    page.goto("/console/documents?q=thien tai")
    page.get_by_test_id("document-link").first.click()
    timeline = page.get_by_test_id("doc-timeline")
    _shot(page, artifacts, "console-document")

    def recipient(code: str) -> Locator:
        return timeline.locator(f"div.recipient[data-recipient='{code}']")

    shown = {
        str(code)
        for code in timeline.locator("div.recipient").evaluate_all(
            "items => items.map(item => item.dataset.recipient)"
        )
    }
    assert sent.accepted.packet_id in page.url
    assert page.get_by_test_id("pdf-signed").get_attribute("class") == "badge pdf-signed"
    assert shown == set(PLAN[4].recipients)
    assert recipient(COMMUNE).locator(".state-delivered").count() == 1
    assert recipient(COMMUNE).locator(".status-03").count() >= 1
    assert recipient(REFUSING).locator(".state-parked").count() == 1
    assert recipient(SILENT_COMMUNE).locator(".status-none").count() == 1
    assert recipient(COMMUNE).locator("li.business").count() == len(ANSWERS[COMMUNE])


def test_the_silent_commune_is_listed_as_unacknowledged(console: Console, run: Run) -> None:
    page = console.page_of("viewer")
    page.goto("/console/unacknowledged")
    row = page.locator(f"#unacked-table tr[data-recipient='{SILENT_COMMUNE}']")
    _reload_until(page, row, "the silent commune's unanswered document")
    unanswered = sum(
        1 for item in PLAN if SILENT_COMMUNE in item.recipients
    )  # delivered, never answered

    assert page.locator("#unacked-table tr[data-recipient]").count() == 1
    assert _cells(row)[-1] == str(unanswered)


def test_the_peers_page_lists_the_refusing_webhook_and_the_inboxes(
    console: Console, run: Run, system: System
) -> None:
    page = console.page_of("viewer")
    page.goto("/console/peers")
    peers = {
        str(key)
        for key in page.locator("#peers-table tr[data-peer]").evaluate_all(
            "rows => rows.map(row => row.dataset.peer)"
        )
    }
    origin = system.endpoints[REFUSING].url.split("/", 3)
    refusing = f"{origin[0]}//{origin[2]}"

    assert refusing in peers
    assert "inbox" in peers


# -- replay, roles, audit, language -------------------------------------------------------------


def test_a_viewer_sees_no_replay_button_and_a_forged_replay_is_refused(
    console: Console, run: Run, system: System
) -> None:
    page = console.page_of("viewer")
    page.goto("/console/failures?state=parked")
    csrf = page.locator("#logout-form input[name='csrf_token']").get_attribute("value")
    (_, delivery_id), *_ = run.parked()
    answer = page.request.post(
        "/console/failures/replay",
        form={
            "csrf_token": csrf or "",
            "state": "parked",
            "delivery_id": delivery_id,
            "reason": "thử",
            "action": "replay",
        },
    )
    packet = system.operator.packet(run.parked()[0][0].accepted.packet_id)

    assert page.get_by_test_id("replay-button").count() == 0
    assert answer.status == 403
    assert {d["delivery_id"]: d["state"] for d in packet["deliveries"]}[delivery_id] == "parked"


@dataclass(frozen=True)
class Replayed:
    delivery_id: str
    document: SentDocument
    still_parked: list[str]


@pytest.fixture(scope="module")
def replayed(console: Console, run: Run, system: System, artifacts: Path) -> Replayed:
    """An operator replays the first parked delivery from the failures page, once the
    commune's webhook is fixed."""
    page = console.page_of("operator")
    page.goto("/console/failures?state=parked")
    parked = run.parked()
    (document, delivery_id), rest = parked[0], parked[1:]
    system.endpoints[REFUSING].reply = Reply()
    page.locator(f"#select-{delivery_id}").check()
    page.get_by_test_id("replay-reason").fill(REASON)
    page.get_by_test_id("replay-button").click()
    page.get_by_test_id("replay-done").wait_for()
    _shot(page, artifacts, "console-failures-replayed")
    return Replayed(delivery_id, document, [item for _, item in rest])


def test_an_operator_replays_a_parked_delivery_and_sees_it_delivered(
    console: Console, replayed: Replayed, system: System
) -> None:
    page = console.page_of("operator")
    page.goto(f"/console/documents/{replayed.document.accepted.packet_id}")
    delivered = page.locator(f"div.recipient[data-recipient='{REFUSING}'] .state-delivered")
    _reload_until(page, delivered, "the replayed delivery delivered")
    page.goto("/console/failures?state=parked")
    still = page.locator("#failures-table tbody tr[data-delivery]").evaluate_all(
        "rows => rows.map(row => row.dataset.delivery)"
    )
    packet = system.operator.packet(replayed.document.accepted.packet_id)

    assert still == replayed.still_parked
    assert {d["delivery_id"]: (d["state"], d["attempts"]) for d in packet["deliveries"]}[
        replayed.delivery_id
    ] == ("delivered", 2)


def test_the_audit_log_shows_the_operators_replay_and_verifies(
    console: Console, replayed: Replayed
) -> None:
    page = console.page_of("admin")
    page.goto("/console/audit")
    entry = page.locator("#audit-table tr[data-action='deliveries.replayed']")
    page.get_by_test_id("verify-chain").click()

    assert entry.count() == 1
    assert f"console:{console.accounts['operator'].name}" in entry.inner_text()
    assert REASON in entry.inner_text()
    assert page.get_by_test_id("verify-result").get_attribute("data-ok") == "1"


# -- one's own password --------------------------------------------------------------------------


def test_a_user_changes_the_password_on_the_form_and_signs_in_with_the_new_one(
    console: Console, system: System, artifacts: Path
) -> None:
    account = Account("e2e-doi-mat-khau", "viewer", "mat-khau-cu-2026")
    process = add_user(system, account)
    output, _ = process.communicate(account.password + "\n", timeout=120)
    assert process.returncode == 0, f"lienthong user add failed:\n{output}"
    renewed = Account(account.name, account.role, "mat-khau-moi-2027-an-toan")
    elsewhere = console.new_page()
    console.sign_in(elsewhere, account)
    elsewhere.get_by_test_id("current-user").wait_for()
    page = console.new_page()
    console.sign_in(page, account)

    page.get_by_test_id("current-user").click()
    page.get_by_test_id("password-current").fill(account.password)
    page.get_by_test_id("password-new").fill(renewed.password)
    page.get_by_test_id("password-confirm").fill(renewed.password)
    page.get_by_test_id("password-submit").click()
    page.get_by_test_id("password-done").wait_for()
    _shot(page, artifacts, "console-password-changed")
    still_signed_in = page.get_by_test_id("current-user").inner_text()
    elsewhere.reload()
    other_session_ended = elsewhere.get_by_test_id("login-form").is_visible()
    page.get_by_test_id("logout-button").click()
    page.wait_for_url("**/console/login")
    console.sign_in(page, account)
    page.get_by_test_id("login-error").wait_for()
    old_refused = page.get_by_test_id("current-user").count() == 0
    console.sign_in(page, renewed)
    page.get_by_test_id("current-user").wait_for()

    assert account.name in still_signed_in
    assert other_session_ended
    assert old_refused
    assert page.locator("body").get_attribute("data-page") == "overview"
    assert account.name in page.get_by_test_id("current-user").inner_text()


def test_the_language_switches_to_english_and_back(
    console: Console, run: Run, artifacts: Path
) -> None:
    page = console.new_page()
    console.sign_in(page, console.accounts["viewer"])
    page.goto("/console/agencies")
    vietnamese = page.get_by_test_id("nav-overview").inner_text()
    page.get_by_test_id("lang-toggle").click()
    english = page.get_by_test_id("nav-overview").inner_text()
    english_lang = page.locator("html").get_attribute("lang")
    stayed = page.locator("body").get_attribute("data-page")
    _shot(page, artifacts, "console-agencies-en")
    page.get_by_test_id("lang-toggle").click()

    assert (vietnamese, english) == (
        translator("vi")("nav.overview"),
        translator("en")("nav.overview"),
    )
    assert english_lang == "en"
    assert stayed == "agencies"
    assert page.locator("html").get_attribute("lang") == "vi"
