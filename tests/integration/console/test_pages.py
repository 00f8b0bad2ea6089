"""Every page over data made by the hub's own ingest: figures, search, exports, replay."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

import edxml
from hub.axis.link import record_poll
from hub.console import queries
from hub.console.figures import LOCAL_TZ
from hub.db.base import utcnow
from hub.db.models import (
    AuditEntry,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    OutboxMessage,
    Packet,
)
from simulators import pdfs

from ..hub.pipeline import packets
from ..hub.pipeline.packets import CITY, DEPARTMENT, DISTRICT, OTHER_WARD, WARD
from .conftest import Console

pytestmark = pytest.mark.integration

_numbers = itertools.count(500)
PAGES = (
    "/console/",
    "/console/?window=today",
    "/console/agencies",
    "/console/agencies?parent=000.00.22.H26&sort=signed&dir=desc",
    "/console/structure",
    "/console/structure?day=2025-07-01",
    "/console/changes",
    "/console/documents",
    "/console/documents?q=ky+so",
    "/console/unacknowledged",
    "/console/unacknowledged?missing=03",
    "/console/failures",
    "/console/failures?state=expired",
    "/console/peers",
    "/console/audit",
    "/console/audit?verify=1",
    "/console/users",
    "/console/directory",
)


@pytest.fixture(scope="module")
def signer() -> pdfs.Signer:
    return pdfs.Authority.create("Test Government CA").issue("Nguyễn Văn An", "UBND Phường")


def send(
    console: Console,
    *files: edxml.FileToAttach,
    sender: str = WARD,
    recipients: tuple[str, ...] = (DISTRICT, CITY),
    subject: str = "Về việc triển khai chữ ký số chuyên dùng",
    notation: str = "UBND-VP",
) -> str:
    """Ingest a document with these attachments; its packet id."""
    document, contents = edxml.new_document(
        sender=sender,
        recipients=list(recipients),
        number=str(next(_numbers)),
        notation=notation,
        subject=subject,
        files=files,
    )
    return console.ingest(edxml.build(document, contents), sender).packet_id


def pdf(data: bytes, name: str = "vanban.pdf") -> edxml.FileToAttach:
    return edxml.FileToAttach(data, name=name)


def test_every_page_renders_in_both_languages(console: Console, signer: pdfs.Signer) -> None:
    console.as_role("admin")
    packet_id = send(console, pdf(pdfs.sign(pdfs.blank_pdf(), signer)))
    send(console, pdf(pdfs.blank_pdf()))

    for language, word in (("vi", "Tổng quan"), ("en", "Overview")):
        toggle = console.client.get(f"/console/lang/{language}?next=/console/")
        assert toggle.status_code == 303
        for path in (*PAGES, f"/console/documents/{packet_id}"):
            page = console.client.get(path)
            assert page.status_code == 200, (path, page.text[-2000:])
            assert f'<html lang="{language}">' in page.text
            assert word in page.text
            assert "Content-Security-Policy" in page.headers
            assert page.headers["cache-control"] == "no-store"


def test_overview_counts_and_charts(console: Console, signer: pdfs.Signer) -> None:
    console.as_role("viewer")
    send(console, pdf(pdfs.sign(pdfs.blank_pdf(), signer)))
    send(console, pdf(pdfs.blank_pdf()))

    page = console.client.get("/console/?window=today").text

    assert 'id="transport-table"' in page
    assert page.count("<svg") == 3
    assert "<script" not in page
    transport = page.split('data-testid="transport-table"')[1].split("</table>")[0]
    documents_row = transport.split('data-row="documents"')[1].split("</tr>")[0]
    assert documents_row.count("<td>2</td>") == 3
    queued_row = transport.split('data-row="queued"')[1].split("</tr>")[0]
    assert queued_row.count("<td>4</td>") == 3


def test_signed_shares_follow_the_pdfs(console: Console, signer: pdfs.Signer) -> None:
    """Four documents from the ward: 2 signed, 1 unsigned, 1 tampered: 50 %."""
    console.as_role("viewer")
    signed = pdfs.sign(pdfs.blank_pdf(), signer)
    send(console, pdf(signed))
    send(console, pdf(pdfs.zipped({"a.pdf": signed}), "hoso.zip"))
    send(console, pdf(pdfs.blank_pdf()))
    send(console, pdf(pdfs.flip_signed_byte(signed)))
    send(console, pdf(signed), sender=OTHER_WARD)
    with console.hub.database.transaction() as session:
        states = sorted(session.scalars(select(Packet.pdf_signed)))
    assert states == ["signed", "signed", "signed", "tampered", "unsigned"]

    answer = console.client.get("/console/agencies/export.csv?level=4")

    rows = {row[0]: row for row in csv.reader(io.StringIO(answer.content.decode("utf-8-sig")))}
    assert rows[WARD][4] == "4"
    assert rows[WARD][10] == "50.0"
    assert rows[OTHER_WARD][10] == "100.0"
    overview = console.client.get("/console/?window=today").text
    wards = overview.split('data-level="4"')[1].split("</tr>")[0]
    signed_cell = wards.split('data-metric="signed"')[1].split("</td>")[0]
    assert "60,0 %" in signed_cell
    assert 'class="missed"' in signed_cell


def test_units_below_the_threshold_are_flagged(console: Console, signer: pdfs.Signer) -> None:
    console.as_role("viewer")
    send(console, pdf(pdfs.blank_pdf()))
    send(console, pdf(pdfs.sign(pdfs.blank_pdf(), signer)), sender=OTHER_WARD)

    page = console.client.get("/console/agencies?level=4&flagged=1").text

    assert f'data-testid="flag-{WARD}"' in page
    assert f'data-code="{OTHER_WARD}"' not in page


def test_agencies_drill_down_from_a_district_to_its_wards(console: Console) -> None:
    console.as_role("viewer")

    district = console.client.get("/console/agencies?level=3").text
    wards = console.client.get(f"/console/agencies?parent={DISTRICT}").text

    assert f'data-testid="drill-{DISTRICT}"' in district
    assert f'data-code="{WARD}"' in wards
    assert f'data-code="{OTHER_WARD}"' in wards
    assert f'data-code="{CITY}"' not in wards
    assert 'id="drill-up"' in wards


def test_exports_hold_the_filtered_table(console: Console, signer: pdfs.Signer) -> None:
    console.as_role("viewer")
    send(console, pdf(pdfs.sign(pdfs.blank_pdf(), signer)))

    as_csv = console.client.get(f"/console/agencies/export.csv?parent={DISTRICT}&sort=code")
    as_xlsx = console.client.get(f"/console/agencies/export.xlsx?parent={DISTRICT}&sort=code")

    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert table[0][:2] == ["Mã định danh", "Tên cơ quan, đơn vị"]
    codes = [row[0] for row in table[1:]]
    assert WARD in codes
    assert CITY not in codes
    assert codes == sorted(codes)
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert [str(cell) for cell in cells[0]] == table[0]
    assert [row[0] for row in cells[1:]] == codes
    ward_row = next(row for row in cells if row[0] == WARD)
    assert (ward_row[4], ward_row[10]) == (1, 100)


def test_search_ignores_accents_and_case(console: Console) -> None:
    console.as_role("viewer")
    wanted = send(console, subject="Về việc triển khai CHỮ KÝ SỐ chuyên dùng", notation="UBND-TP")
    other = send(console, subject="Báo cáo tình hình kinh tế - xã hội", notation="BC-UBND")

    def found(query: str) -> set[str]:
        page = console.client.get("/console/documents", params={"q": query}).text
        return {packet for packet in (wanted, other) if f'data-packet="{packet}"' in page}

    assert found("ky so") == {wanted}
    assert found("KÝ SỐ") == {wanted}
    assert found("chuyen   dung trien") == {wanted}
    assert found("xa hoi") == {other}
    assert found("ubnd") == {wanted, other}
    assert found("UBND-TP") == {wanted}
    assert found("ky sox") == set()
    assert found("100%_") == set()


def test_search_by_id_sender_recipient_state_status_and_dates(console: Console) -> None:
    console.as_role("viewer")
    first = send(console, recipients=(DISTRICT,))
    second = send(console, sender=DISTRICT, recipients=(DEPARTMENT,))
    with console.hub.database.transaction() as session:
        document_id = session.get_one(Packet, first).document_id
        session.execute(
            update(Delivery)
            .where(Delivery.packet_id == second)
            .values(state=DeliveryState.PARKED, last_error="HTTP 500")
        )

    def found(**params: str) -> set[str]:
        page = console.client.get("/console/documents", params=params).text
        return {packet for packet in (first, second) if f'data-packet="{packet}"' in page}

    today = utcnow().astimezone(LOCAL_TZ).date().isoformat()
    assert found(q=document_id) == {first}
    assert found(sender=DISTRICT) == {second}
    assert found(recipient=DEPARTMENT) == {second}
    assert found(state="parked") == {second}
    assert found(status="none", recipient=DISTRICT) == {first}
    assert found(**{"from": "2000-01-01", "to": "2000-01-02"}) == set()
    assert found(**{"from": "2000-01-01"}) == {first, second}
    assert found(**{"from": today, "to": today}) == {first, second}
    assert console.client.get("/console/documents?state=lost").status_code == 400
    assert console.client.get("/console/documents?from=yesterday").status_code == 400


def test_search_pages_with_a_cursor(console: Console) -> None:
    console.as_role("viewer")
    made = [send(console, recipients=(DISTRICT,)) for _ in range(3)]
    with console.hub.database.transaction() as session:
        first = queries.search_documents(session, queries.DocumentQuery(), limit=2)
        second = queries.search_documents(
            session, queries.DocumentQuery(), cursor=first.next_cursor, limit=2
        )

    assert [hit.packet_id for hit in first.hits] == made[::-1][:2]
    assert [hit.packet_id for hit in second.hits] == made[:1]
    assert second.next_cursor is None


def test_document_page_shows_signatures_attachments_and_timeline(
    console: Console, signer: pdfs.Signer
) -> None:
    console.as_role("operator")
    signed = pdfs.sign(pdfs.blank_pdf(), signer)
    packet_id = send(console, pdf(signed), pdf(b"plain text", "ghichu.txt"))
    with console.hub.database.transaction() as session:
        packet = session.get_one(Packet, packet_id)
        document = edxml.parse(console.hub.blobs.read(packet.sha256))
    assert isinstance(document, edxml.DocumentPacket)
    delivery = next(
        row.id
        for row in _deliveries(console, packet_id)
        if row.recipient_code == DISTRICT  # inbox channel
    )
    console.hub.set_state(delivery, DeliveryState.DELIVERED, delivered_at=utcnow())
    console.ingest(packets.status(document, "01", DISTRICT), DISTRICT)

    page = console.client.get(f"/console/documents/{packet_id}").text

    assert "Nguyễn Văn An" in page
    assert 'data-testid="pdf-signed">Có ký số' in page
    assert 'data-testid="xml-signature-status">Không có chữ ký' in page
    assert "vanban.pdf" in page
    assert "ghichu.txt" in page
    assert WARD in page.split('data-testid="doc-trace"')[1].split("</section>")[0]
    timeline = page.split('data-testid="doc-timeline"')[1]
    assert f'data-recipient="{DISTRICT}"' in timeline
    assert "Đã đến" in timeline
    assert "Trục tiếp nhận" in timeline
    attachment = console.client.get(f"/console/documents/{packet_id}/attachments/1")
    assert attachment.content == b"plain text"
    assert "ghichu.txt" in attachment.headers["content-disposition"]
    assert console.client.get(f"/console/documents/{packet_id}/attachments/0").content == signed
    assert console.client.get(f"/console/documents/{packet_id}/attachments/7").status_code == 404
    assert console.client.get("/console/documents/NOPE").status_code == 404


def _deliveries(console: Console, packet_id: str) -> list[Delivery]:
    with console.hub.database.transaction() as session:
        rows = list(session.scalars(select(Delivery).where(Delivery.packet_id == packet_id)))
        for row in rows:
            session.expunge(row)
    return rows


def test_unacknowledged_documents_by_age(console: Console) -> None:
    console.as_role("viewer")
    _, raw = packets.document(WARD, (DISTRICT, CITY))
    document = edxml.parse(raw)
    assert isinstance(document, edxml.DocumentPacket)
    packet_id = console.ingest(raw, WARD).packet_id
    for row in _deliveries(console, packet_id):
        console.hub.set_state(
            row.id, DeliveryState.DELIVERED, delivered_at=utcnow() - timedelta(hours=30)
        )

    page = console.client.get("/console/unacknowledged").text
    district_row = page.split(f'data-recipient="{DISTRICT}"')[1].split("</tr>")[0]
    assert f'data-testid="bucket-{DISTRICT}-1"' in district_row
    listing = console.client.get(f"/console/unacknowledged/{DISTRICT}?bucket=1").text
    assert f'data-packet="{packet_id}"' in listing

    console.ingest(packets.status(document, "01", DISTRICT), DISTRICT)

    after = console.client.get("/console/unacknowledged").text
    assert f'data-recipient="{DISTRICT}"' not in after
    assert f'data-recipient="{CITY}"' in after
    still = console.client.get("/console/unacknowledged?missing=03").text
    assert f'data-recipient="{DISTRICT}"' in still


def test_replay_from_the_failures_page_is_queued_and_audited(console: Console) -> None:
    console.as_role("operator")
    packet_id = send(console, recipients=(DISTRICT, CITY, DEPARTMENT))
    parked = {
        row.recipient_code: row.id
        for row in _deliveries(console, packet_id)
        if row.recipient_code in (CITY, DEPARTMENT)
    }
    for delivery in parked.values():
        console.hub.set_state(delivery, DeliveryState.PARKED, attempts=8, last_error="HTTP 503")
    listing = console.client.get("/console/failures").text
    assert all(f'data-delivery="{delivery}"' in listing for delivery in parked.values())
    form = {
        "csrf_token": console.csrf("/console/failures"),
        "state": "parked",
        "delivery_id": parked[CITY],
    }

    dry = console.client.post("/console/failures/replay", data={**form, "action": "dry-run"})
    missing_reason = console.client.post(
        "/console/failures/replay", data={**form, "action": "replay"}
    )

    assert dry.status_code == 200
    assert 'data-testid="dry-run-count">Sẽ chuyển lại 1 lượt' in dry.text
    assert missing_reason.status_code == 422
    with console.hub.database.transaction() as session:
        assert session.get_one(Delivery, parked[CITY]).state is DeliveryState.PARKED

    done = console.client.post(
        "/console/failures/replay",
        data={**form, "action": "replay", "reason": "Sở đã khắc phục máy chủ"},
    )

    assert done.status_code == 303
    assert "replayed=1" in done.headers["location"]
    with console.hub.database.transaction() as session:
        city = session.get_one(Delivery, parked[CITY])
        assert (city.state, city.attempts, city.last_error) == (
            DeliveryState.QUEUED,
            8,
            "HTTP 503",
        )
        assert session.get_one(Delivery, parked[DEPARTMENT]).state is DeliveryState.PARKED
        outbox = session.scalars(
            select(OutboxMessage.reason).where(OutboxMessage.delivery_id == parked[CITY])
        ).all()
        assert sorted(outbox) == ["ingest", "replay"]
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "deliveries.replayed")
        ).one()
        assert entry.actor == "console:operator-user"
        assert entry.reason == "Sở đã khắc phục máy chủ"
        assert [item["delivery_id"] for item in entry.details["deliveries"]] == [parked[CITY]]
    audit = console.client.get("/console/audit?action=deliveries.replayed").text
    assert 'data-action="deliveries.replayed"' in audit
    verified = console.client.get("/console/audit?verify=1").text
    assert 'data-ok="1"' in verified


def test_replay_by_filter_takes_every_matching_delivery(console: Console) -> None:
    console.as_role("admin")
    packet_id = send(console, recipients=(DISTRICT, CITY, DEPARTMENT))
    for row in _deliveries(console, packet_id):
        console.hub.set_state(row.id, DeliveryState.EXPIRED, last_error="too old")

    done = console.client.post(
        "/console/failures/replay",
        data={
            "csrf_token": console.csrf("/console/failures?state=expired"),
            "state": "expired",
            "channel": "webhook",
            "reason": "bulk",
            "action": "replay",
        },
    )

    assert done.status_code == 303
    states = {row.recipient_code: row.state for row in _deliveries(console, packet_id)}
    assert states == {
        DISTRICT: DeliveryState.EXPIRED,  # inbox channel: not selected
        CITY: DeliveryState.QUEUED,
        DEPARTMENT: DeliveryState.QUEUED,
    }


def test_peers_show_failing_webhooks_and_the_axis_link(console: Console) -> None:
    console.as_role("viewer")
    packet_id = send(console, recipients=(CITY,))
    (delivery,) = _deliveries(console, packet_id)
    now = utcnow()
    with console.hub.database.transaction() as session:
        session.add_all(
            DeliveryAttempt(
                delivery_id=delivery.id,
                number=number,
                started_at=now - timedelta(minutes=10 - number),
                finished_at=now - timedelta(minutes=10 - number),
                outcome="transient" if number < 6 else "breaker-open",
                error="HTTP 503 Service Unavailable",
                http_status=503,
            )
            for number in range(1, 8)
        )

    class Round:
        kind = "edoc"
        listed, accepted, repeated, rejected, left = 5, 3, 0, 1, 1
        error: str | None = None

    record_poll(console.hub.database, "vxp", Round())

    page = console.client.get("/console/peers").text

    row = page.split('data-peer="http://127.0.0.1:')[1].split("</tr>")[0]
    assert 'data-breaker="open"' in row
    assert "HTTP 503" in row
    axis = page.split('data-testid="axis-table"')[1].split("</table>")[0]
    assert 'data-loop="vxp/edoc"' in axis
    assert "<td>1</td>" in axis


def test_an_admin_switches_an_agency_off_in_the_directory(console: Console) -> None:
    console.as_role("admin")

    answer = console.client.post(
        f"/console/directory/{OTHER_WARD}/active",
        data={"active": "0", "csrf_token": console.csrf("/console/directory")},
    )

    assert answer.status_code == 303
    page = console.client.get("/console/directory").text
    row = page.split(f'data-code="{OTHER_WARD}"')[1].split("</tr>")[0]
    assert 'name="active" value="1"' in row
    with console.hub.database.transaction() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "directory.agency-disabled" in actions
