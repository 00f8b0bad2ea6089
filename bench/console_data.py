"""A month of a full-size city's traffic, written straight into the hub's tables on PostgreSQL.

For the console benchmark (``bench/bench_console.py``) and its test. The city comes from
:mod:`hub.directory.citygen` (≈ 30 districts, 600 communes, 40 departments, the
Government Office behind the national axis), imported with :mod:`hub.directory`; the schema
is the real one (:func:`hub.db.migrate.upgrade`, the console's migration included). Then
documents flow the way the hub would have recorded them over ``days`` days, office hours mostly:

- a document packet per document (``pdf_signed`` drawn per sender level with known shares,
  the inspection summary and PDF report shaped by real inspections), one delivery and one
  business state (``document_recipients``) per recipient, the delivery's attempts and its
  outbox row;
- transport as the channels behave: webhooks deliver at once (a few transient failures and
  retries); one department has been down since yesterday (retrying, then parked), one has had
  a broken URL for three days (parked on 404), another had one for two days weeks ago and two
  had an outage, which operators replayed the next morning (audit entries
  ``deliveries.replayed``); inbox agencies fetch after a delay (some slowly, a few not at all
  lately: ``available``), rarely refusing; the axis had two long outages (expired; the first
  replayed);
- statuses back from each recipient that has the document: 01 within minutes, 03 in office
  hours, then sometimes 04 and 06 days later, 02 rarely; each one a status packet with its own
  delivery to the document's sender and a ``status_events`` row; a status that would fall
  after the end of the window has not happened yet.

Rows go in with COPY (psycopg ``cursor.copy``) with the secondary indexes and foreign keys
dropped, then both are put back exactly as they were (the foreign keys validated, which checks
every reference) and the tables analysed. Nothing here asserts: :class:`FillReport` says what
was written, and the test compares it with the database.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import queue
import random
import re
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import edxml
from hub.axis.link import record_poll_in
from hub.db.migrate import upgrade
from hub.db.text import search_text
from hub.directory import DirectoryData, dump_yaml, import_directory, parse_yaml
from hub.directory.citygen import GOVERNMENT_OFFICE, CityPlan, generate_city
from hub.ingest.pdf_signatures import inspect_attachments
from hub.records import audit
from hub.settings import Settings
from hub.transport.replay import ReplayFilter, ReplayItem
from simulators import pdfs

__all__ = [
    "FILLED_TABLES",
    "FillPlan",
    "FillReport",
    "fill_database",
    "psycopg_url",
]

LOCAL = timezone(timedelta(hours=7))
"""Asia/Ho_Chi_Minh (no daylight saving)."""

FILLED_TABLES = (
    "packets",
    "deliveries",
    "delivery_attempts",
    "outbox",
    "document_recipients",
    "status_events",
)
"""The tables written with COPY (the directory and the audit log go through the hub's code)."""

DEFAULT_SIGNED_SHARE: Mapping[int, float] = {1: 0.97, 2: 0.9, 3: 0.8, 4: 0.6}
"""Share of documents whose PDFs carry a valid signature, by the sender's level."""

RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 3 * 3600.0)
"""The hub's default retry schedule (seconds): eight attempts, then parked."""
MAX_AGE = timedelta(days=3)
OPERATOR = "operator:ops-bench"


# -- plan and report ------------------------------------------------------------------------


@dataclass(frozen=True)
class FillPlan:
    """What to write: how many deliveries, over how long, in which city."""

    deliveries: int = 1_000_000
    """Rows of ``deliveries`` to write at least (documents' and statuses' together): the
    documents are planned from a pilot run's deliveries per document, and more are added if
    they fall short (about 1 % over at a million, more at tiny sizes)."""
    days: int = 30
    seed: int = 20_261_121
    city: CityPlan = field(default_factory=CityPlan)
    signed_share: Mapping[int, float] = field(default_factory=lambda: dict(DEFAULT_SIGNED_SHARE))
    end: datetime | None = None
    """The end of the window (now by default); nothing is later than this."""
    batch_documents: int = 2_000
    """Documents per round of COPY."""


@dataclass
class FillReport:
    """What was written, counted while writing."""

    start: datetime
    end: datetime
    rows: Counter[str] = field(default_factory=Counter)
    documents_by_level: Counter[int] = field(default_factory=Counter)
    signed_by_level: Counter[int] = field(default_factory=Counter)
    pdf_states: Counter[str] = field(default_factory=Counter)
    delivery_states: Counter[str] = field(default_factory=Counter)
    """States of the documents' deliveries (statuses' deliveries not included)."""
    status_codes: Counter[str] = field(default_factory=Counter)
    replays: int = 0
    replayed_deliveries: int = 0
    agencies: int = 0
    fill_seconds: float = 0.0
    index_seconds: float = 0.0
    analyse_seconds: float = 0.0
    sample_documents: list[tuple[str, str]] = field(default_factory=list)
    """(sender, DocumentId) of some documents, for tests and benchmarks to open."""

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def signed_share(self, level: int) -> float:
        documents = self.documents_by_level[level]
        return self.signed_by_level[level] / documents if documents else 0.0


def psycopg_url(url: str) -> str:
    """A SQLAlchemy URL as a libpq connection string for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- the city and how its agencies behave ---------------------------------------------------


@dataclass(frozen=True)
class Member:
    code: str
    name: str
    level: int
    parent: str | None
    channel: str
    group: str
    """``government``, ``city``, ``department``, ``district`` or ``commune``."""
    notation: str


@dataclass(frozen=True)
class Outage:
    """A time an agency's system (or the axis) failed every push."""

    start: datetime
    end: datetime
    kind: str = "transient"
    """``transient`` (connection refused: retries, then parked), ``permanent`` (404: parked at
    once) or ``expire`` (the axis answers 503 with a long Retry-After: expired at the maximum
    age)."""
    replay_at: datetime | None = None
    """When operators replayed the deliveries it parked or expired (None: not yet)."""
    replay_share: float = 0.8
    """Share of them replayed (the rest the agency already had by other means)."""

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass
class Profile:
    """How an agency's system takes delivery and answers."""

    transient: float = 0.01
    """Chance that one push attempt fails transiently."""
    fetch_median: float = 60.0
    """Inbox: median seconds before the agency fetches and acknowledges."""
    fetch_sigma: float = 0.8
    answers: float = 0.93
    """Chance of answering a document at all (01 and what follows)."""
    registers: float = 0.9
    """Chance of a 03 after the 01."""
    outages: list[Outage] = field(default_factory=list)
    dormant_since: datetime | None = None
    """Inbox: stopped fetching at this time."""


@dataclass(frozen=True)
class City:
    members: dict[str, Member]
    government: str
    city: str
    departments: tuple[str, ...]
    districts: tuple[str, ...]
    communes: dict[str, tuple[str, ...]]
    """Communes of each district."""


def _initials(name: str) -> str:
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    words = [word for word in plain.replace("-", " ").split() if word[:1].isalpha()]
    return "".join(word[0].upper() for word in words)[:6]


def city_of(directory: DirectoryData) -> City:
    members: dict[str, Member] = {}
    city_code = next(a.code for a in directory.agencies if a.level == 2 and a.parent is None)
    departments: list[str] = []
    districts: list[str] = []
    communes: dict[str, list[str]] = defaultdict(list)
    for entry in directory.agencies:
        if entry.code == GOVERNMENT_OFFICE:
            group, notation = "government", "VPCP-TTĐT"
        elif entry.code == city_code:
            group, notation = "city", "UBND-VP"
        elif entry.level == 2:
            group, notation = "department", f"{_initials(entry.name)}-VP"
            departments.append(entry.code)
        elif entry.level == 3 and entry.parent == city_code:
            group, notation = "district", "UBND"
            districts.append(entry.code)
        elif entry.level == 4 and entry.parent is not None:
            group, notation = "commune", "UBND"
            communes[entry.parent].append(entry.code)
        else:
            group, notation = "office", "UBND"
        members[entry.code] = Member(
            code=entry.code,
            name=entry.name,
            level=entry.level,
            parent=entry.parent,
            channel=entry.channel.value,
            group=group,
            notation=notation,
        )
    return City(
        members=members,
        government=GOVERNMENT_OFFICE,
        city=city_code,
        departments=tuple(departments),
        districts=tuple(districts),
        communes={district: tuple(codes) for district, codes in communes.items()},
    )


def profiles_of(
    city: City, rng: random.Random, start: datetime, end: datetime
) -> dict[str, Profile]:
    """Healthy agencies mostly; a few with the troubles an operator's console is for."""
    profiles = {code: Profile() for code in city.members}
    for code in (*city.departments, city.city):
        profiles[code] = Profile(transient=0.01, answers=0.97, registers=0.95)
    for code in city.districts:
        profiles[code] = Profile(fetch_median=300.0, answers=0.97, registers=0.93)
    for codes in city.communes.values():
        for code in codes:
            roll = rng.random()
            if roll < 0.03:
                since = end - timedelta(days=rng.uniform(3.0, 8.0))
                profiles[code] = Profile(fetch_median=1800.0, dormant_since=since, answers=0.8)
            elif roll < 0.15:
                profiles[code] = Profile(fetch_median=6 * 3600.0, fetch_sigma=1.0, answers=0.85)
            elif roll < 0.20:
                profiles[code] = Profile(fetch_median=600.0, answers=0.5, registers=0.4)
            else:
                profiles[code] = Profile(fetch_median=900.0, fetch_sigma=1.0)
    if len(city.departments) < 6:
        return profiles
    troubled = rng.sample(list(city.departments), 6)
    span = end - start
    later = end + timedelta(days=1)
    # Down since yesterday: the deliveries of the last hours are retrying, older ones parked.
    profiles[troubled[0]].outages.append(Outage(end - timedelta(hours=20), later))
    # Wrong URLs: parked at once on 404; the older one fixed and mostly replayed.
    profiles[troubled[1]].outages.append(Outage(end - timedelta(days=3), later, "permanent"))
    broken = _office_open(start + span * 0.2)
    fixed = _office_open(broken + timedelta(days=2))
    profiles[troubled[2]].outages.append(
        Outage(broken, fixed, "permanent", fixed + timedelta(hours=2), 0.6)
    )
    # Outages in the past, replayed by operators the next morning.
    for code, at in ((troubled[3], 0.35), (troubled[4], 0.7)):
        day = _office_open(start + span * at)
        replay = _office_open(day + timedelta(days=1)) + timedelta(minutes=20)
        profiles[code].outages.append(
            Outage(day + timedelta(hours=1), day + timedelta(hours=8), replay_at=replay)
        )
    profiles[troubled[5]].transient = 0.12
    # The axis answered 503 with a long Retry-After for days: expired; the first time
    # replayed, the second (last week) not yet.
    government = profiles[city.government]
    government.transient = 0.03
    first = _office_open(start + span * 0.45)
    replay = _office_open(first + timedelta(days=4)) + timedelta(hours=1)
    second = _office_open(end - timedelta(days=6))
    government.outages += [
        Outage(first, first + timedelta(days=3, hours=6), "expire", replay, 0.9),
        Outage(second, second + timedelta(days=3, hours=12), "expire"),
    ]
    return profiles


# -- time ----------------------------------------------------------------------------------


def _office_open(moment: datetime) -> datetime:
    """The next office opening (07:30 local, Monday to Friday) at or after ``moment``."""
    local = moment.astimezone(LOCAL)
    day = local.replace(hour=7, minute=30, second=0, microsecond=0)
    if local > day:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.astimezone(UTC)


def _in_office(moment: datetime, rng: random.Random) -> datetime:
    """``moment`` if it falls in office hours, else some time after the next opening."""
    local = moment.astimezone(LOCAL)
    minutes = local.hour * 60 + local.minute
    if local.weekday() < 5 and 450 <= minutes < 1050:
        return moment
    return _office_open(moment) + timedelta(seconds=rng.uniform(0, 7200))


class Clock:
    """Draws document times over the window: weekdays in office hours, a few off hours."""

    def __init__(self, start: datetime, end: datetime, rng: random.Random) -> None:
        self.start = start
        self.end = end
        self.rng = rng
        days: list[tuple[datetime, float]] = []
        day = start.astimezone(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            weight = (1.0, 1.0, 1.0, 1.0, 0.95, 0.12, 0.03)[day.weekday()]
            days.append((day, weight))
            day += timedelta(days=1)
        self.days = [d for d, _ in days]
        self.weights = list(itertools.accumulate(w for _, w in days))

    def draw(self) -> datetime:
        while True:
            (day,) = self.rng.choices(self.days, cum_weights=self.weights)
            hour = (
                self.rng.gauss(9.5, 1.2) if self.rng.random() < 0.55 else self.rng.gauss(14.5, 1.3)
            )
            if self.rng.random() < 0.04:
                hour = self.rng.uniform(0, 24)
            moment = (day + timedelta(hours=min(max(hour, 0.0), 23.99))).astimezone(UTC)
            if self.start <= moment < self.end:
                return moment


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


# -- identifiers ---------------------------------------------------------------------------

_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def _ulid(moment: datetime, rng: random.Random) -> str:
    """An id in the form of :func:`hub.ids.new_id` (10 characters of milliseconds, 16 random,
    Crockford base32) for this moment, from seeded randomness."""
    value = (int(moment.timestamp() * 1000) << 80) | rng.getrandbits(80)
    encoded = base64.b32encode((value << 30).to_bytes(20, "big")).decode("ascii")
    return encoded[:26].translate(_CROCKFORD)


# -- what packets say ----------------------------------------------------------------------

_TOPICS = (
    "triển khai Kế hoạch chuyển đổi số năm 2026",
    "báo cáo kết quả thực hiện nhiệm vụ tháng",
    "tăng cường công tác phòng, chống thiên tai và tìm kiếm cứu nạn",
    "góp ý dự thảo Nghị quyết của Hội đồng nhân dân Thành phố",
    "tổ chức Hội nghị sơ kết công tác cải cách hành chính",
    "rà soát, cập nhật cơ sở dữ liệu dân cư",
    "đôn đốc giải ngân vốn đầu tư công",
    "kiểm tra công tác bảo vệ môi trường tại các khu công nghiệp",
    "tăng cường quản lý trật tự xây dựng đô thị",
    "thực hiện chính sách hỗ trợ người lao động",
    "công tác tuyển sinh vào lớp 10 năm học 2026-2027",
    "phòng, chống dịch bệnh truyền nhiễm mùa đông xuân",
    "triển khai Đề án 06 về phát triển ứng dụng dữ liệu dân cư",
    "thu ngân sách nhà nước và quản lý nợ đọng thuế",
    "tổ chức các hoạt động chào mừng ngày Nhà giáo Việt Nam 20/11",
    "đảm bảo an toàn giao thông dịp cuối năm",
    "kiện toàn Ban chỉ đạo phòng, chống tham nhũng",
    "sử dụng chữ ký số trong văn bản điện tử",
    "quản lý, sử dụng tài sản công tại cơ quan, đơn vị",
    "thực hiện Quy chế dân chủ ở cơ sở",
    "tiếp công dân định kỳ và giải quyết khiếu nại, tố cáo",
    "công tác thi đua, khen thưởng năm 2026",
    "bồi thường, hỗ trợ, tái định cư dự án đường vành đai",
    "chấn chỉnh kỷ luật, kỷ cương hành chính",
    "phát triển sản phẩm OCOP và du lịch nông thôn",
    "kế hoạch kiểm tra an toàn thực phẩm Tết Nguyên đán",
    "cấp giấy chứng nhận quyền sử dụng đất lần đầu",
    "thống kê, báo cáo số liệu hộ nghèo, hộ cận nghèo",
    "tổ chức lấy ý kiến Nhân dân về điều chỉnh địa giới hành chính",
    "ứng dụng công nghệ thông tin trong quản lý văn bản và hồ sơ công việc",
)

_KINDS = (
    # (weight, notation prefix, how the subject starts)
    (0.62, "", "V/v "),
    (0.12, "QĐ-", "Quyết định về việc "),
    (0.1, "KH-", "Kế hoạch "),
    (0.1, "TB-", "Thông báo về việc "),
    (0.06, "BC-", "Báo cáo "),
)
_KIND_WEIGHTS = list(itertools.accumulate(k[0] for k in _KINDS))

_REFUSALS = (
    "Văn bản gửi nhầm đơn vị",
    "Thiếu tệp đính kèm",
    "Sai thể thức văn bản",
)


@dataclass(frozen=True)
class Templates:
    """Real inspections (edxml's summary, the PDF report per ``pdf_signed`` state), to be
    varied per row."""

    summary: Mapping[str, Any]
    status_summary: Mapping[str, Any]
    pdf_reports: Mapping[str, str]


_SIGNING_TIME = re.compile(r'"signing_time": "[^"]*"')


def _templates() -> Templates:
    """Inspect real packets once (a signed, an unsigned, a tampered and an unverifiable PDF)."""
    authority = pdfs.Authority.create("CA Thử nghiệm Minh Sơn")
    signer = authority.issue("Nguyễn Văn An", "UBND Thành phố Minh Sơn")
    blank = pdfs.blank_pdf()
    signed = pdfs.sign(blank, signer)
    variants = {
        "signed": ("van-ban.pdf", signed),
        "unsigned": ("van-ban.pdf", blank),
        "tampered": ("van-ban.pdf", pdfs.flip_signed_byte(signed)),
        "unverifiable": ("van-ban.pdf", pdfs.relabel_as_unsupported_format(signed)),
        "no-pdf": ("van-ban.docx", b"PK\x03\x04 not really a document"),
    }
    reports: dict[str, str] = {}
    summary: dict[str, Any] = {}
    status_summary: dict[str, Any] = {}
    for state, (name, content) in variants.items():
        document, contents = edxml.new_document(
            sender="000.00.01.H99",
            recipients=["000.00.00.H99"],
            number="1",
            notation="UBND-VP",
            subject="Về việc mẫu",
            files=[edxml.FileToAttach(content, name=name)],
        )
        data = edxml.build(document, contents)
        report = inspect_attachments(data, trust_roots=[authority.cert])
        reports[state] = json.dumps(report.model_dump(mode="json"), ensure_ascii=False)
        if state == "signed":
            summary = edxml.inspect(data).as_json()
            status = edxml.build(edxml.status_for(document, "03", reporter="000.00.00.H99"))
            status_summary = edxml.inspect(status).as_json()
    return Templates(summary, status_summary, reports)


# -- the simulation ------------------------------------------------------------------------


@dataclass
class Transport:
    """How one delivery went."""

    state: str
    attempts: list[tuple[int, datetime, datetime, str, str | None, int | None, str]] = field(
        default_factory=list
    )
    """(number, started, finished, outcome, error, http status, worker)."""
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    acked_at: datetime | None = None
    ack_result: str | None = None
    ack_reason: str | None = None
    updated_at: datetime | None = None
    handed_at: datetime | None = None
    """When the recipient's system had the packet (pushed, or fetched from the inbox)."""
    replayed_at: datetime | None = None
    external_ref: str | None = None


@dataclass
class Batch:
    """Rows waiting for the next round of COPY, per table."""

    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {table: [] for table in FILLED_TABLES}
    )

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows[table].append(row)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


COLUMNS: Mapping[str, tuple[str, ...]] = {
    table: tuple(names.split())
    for table, names in {
        "packets": "id kind sha256 size sender_code submitted_by source document_id "
        "business_type status_code addressee_code code subject signature_status "
        "signature_reason signature_trusted summary received_at pdf_signed pdf_count "
        "pdf_signed_count pdf_report search_text",
        "deliveries": "id packet_id recipient_code channel state attempts last_error "
        "next_attempt_at delivered_at acked_at ack_result ack_reason external_ref created_at "
        "updated_at",
        "delivery_attempts": "delivery_id number started_at finished_at outcome error "
        "http_status worker",
        "outbox": "delivery_id reason created_at published_at",
        "document_recipients": "sender_code document_id recipient_code packet_id status "
        "status_at created_at updated_at first_ack_at first_accept_at",
        "status_events": "packet_id document_sender_code document_id recipient_code "
        "reporter_code status_code description reported_at_text reported_at received_at "
        "document_known effect",
    }.items()
}
"""The columns each COPY writes, in the order of the simulation's row tuples."""

_STATUS_DESCRIPTIONS = edxml.models.STATUS_DESCRIPTIONS_VI
_PROGRESSION = ("01", "03", "04", "05", "06")
_WORKERS = tuple(f"worker-{host}-{n}" for host in ("a", "b") for n in range(1, 5))


class Simulation:
    """Draws the traffic and turns it into rows; one instance per fill."""

    def __init__(self, plan: FillPlan, city: City, start: datetime, end: datetime) -> None:
        self.plan = plan
        self.city = city
        self.start = start
        self.end = end
        self.rng = random.Random(plan.seed)
        self.profiles = profiles_of(city, random.Random(plan.seed + 1), start, end)
        self.clock = Clock(start, end, random.Random(plan.seed + 2))
        self.templates = _templates()
        self.numbers: Counter[tuple[str, str]] = Counter()
        self.replays: dict[tuple[str, datetime, str], list[ReplayItem]] = defaultdict(list)
        self.report = FillReport(start=start, end=end)
        self._senders = self._sender_weights()
        self._flows = self._flow_table()
        self.times: list[datetime] = []
        """Document times still to use, latest first (popped from the end)."""

    def plan_documents(self, count: int) -> None:
        """Draw the times of ``count`` documents, so numbers and ids grow with time (documents
        beyond them get times drawn one by one)."""
        self.times = sorted((self.clock.draw() for _ in range(count)), reverse=True)

    # -- who writes to whom ----------------------------------------------------------------

    def _sender_weights(self) -> dict[str, tuple[list[str], list[float]]]:
        """Per group, its agencies with cumulative weights: a few busy, most ordinary."""
        groups: dict[str, list[str]] = {
            "department": list(self.city.departments),
            "district": list(self.city.districts),
            "commune": [c for codes in self.city.communes.values() for c in codes],
        }
        weighted: dict[str, tuple[list[str], list[float]]] = {}
        for group, codes in groups.items():
            order = list(codes)
            self.rng.shuffle(order)
            weights = [1.0 / (rank + 1) ** 0.6 for rank in range(len(order))]
            weighted[group] = (order, list(itertools.accumulate(weights)))
        return weighted

    def _pick(self, group: str) -> str:
        codes, weights = self._senders[group]
        return self.rng.choices(codes, cum_weights=weights)[0]

    def _flow_table(self) -> list[tuple[float, Callable[[], tuple[str, list[str]]]]]:
        c = self.city
        rng = self.rng

        def some(codes: Sequence[str], low: int, high: int) -> list[str]:
            return rng.sample(list(codes), min(len(codes), rng.randint(low, high)))

        def city_broadcast() -> tuple[str, list[str]]:
            return c.city, [*c.departments, *c.districts]

        def city_some() -> tuple[str, list[str]]:
            return c.city, some([*c.departments, *c.districts], 2, 8)

        def city_to_government() -> tuple[str, list[str]]:
            return c.city, [c.government]

        def department_up() -> tuple[str, list[str]]:
            sender = self._pick("department")
            others = [d for d in (*c.departments, *c.districts) if d != sender]
            return sender, [c.city, *some(others, 0, 3)]

        def department_to_districts() -> tuple[str, list[str]]:
            return self._pick("department"), list(c.districts)

        def department_across() -> tuple[str, list[str]]:
            sender = self._pick("department")
            return sender, some([d for d in c.departments if d != sender], 2, 6)

        def district_up() -> tuple[str, list[str]]:
            return self._pick("district"), [c.city, *some(c.departments, 0, 2)]

        def district_broadcast() -> tuple[str, list[str]]:
            sender = self._pick("district")
            return sender, list(c.communes.get(sender, ()))

        def district_some() -> tuple[str, list[str]]:
            sender = self._pick("district")
            return sender, some(c.communes.get(sender, ()), 1, 3)

        def commune_up() -> tuple[str, list[str]]:
            sender = self._pick("commune")
            parent = c.members[sender].parent
            assert parent is not None
            extra = some(c.departments, 1, 1) if rng.random() < 0.1 else []
            return sender, [parent, *extra]

        def government_down() -> tuple[str, list[str]]:
            return c.government, [c.city, *some(c.departments, 0, 3)]

        flows = [
            (0.03, city_broadcast),
            (0.10, city_some),
            (0.02, city_to_government),
            (0.22, department_up),
            (0.03, department_to_districts),
            (0.05, department_across),
            (0.12, district_up),
            (0.06, district_broadcast),
            (0.05, district_some),
            (0.22, commune_up),
            (0.03, government_down),
        ]
        possible = {
            department_up: bool(c.departments),
            department_to_districts: bool(c.departments),
            department_across: len(c.departments) > 1,
            district_up: bool(c.districts),
            district_broadcast: bool(c.communes),
            district_some: bool(c.communes),
            commune_up: bool(c.communes),
        }
        flows = [(weight, flow) for weight, flow in flows if possible.get(flow, True)]
        cumulative = list(itertools.accumulate(w for w, _ in flows))
        return list(zip(cumulative, (f for _, f in flows), strict=True))

    def _flow(self) -> tuple[str, list[str]]:
        weights = [w for w, _ in self._flows]
        (picked,) = self.rng.choices(self._flows, cum_weights=weights)
        sender, recipients = picked[1]()
        recipients = list(dict.fromkeys(r for r in recipients if r != sender))
        return (sender, recipients) if recipients else (sender, [self.city.city])

    # -- transport -------------------------------------------------------------------------

    def transport(self, recipient: str, channel: str, created: datetime) -> Transport:
        profile = self.profiles[recipient]
        rng = self.rng
        if created > self.end - timedelta(seconds=2):
            return Transport(state="queued", updated_at=created)
        first = created + timedelta(seconds=rng.uniform(0.05, 0.6))
        worker = rng.choice(_WORKERS)
        if channel == "inbox":
            return self._inbox(profile, created, first, worker)
        return self._push(recipient, profile, channel, created, first, worker)

    def _inbox(
        self, profile: Profile, created: datetime, first: datetime, worker: str
    ) -> Transport:
        rng = self.rng
        done = first + timedelta(milliseconds=rng.uniform(5, 40))
        result = Transport(state="available", updated_at=done)
        result.attempts.append((1, first, done, "available", None, None, worker))
        fetched = done + timedelta(
            seconds=_lognormal(rng, profile.fetch_median, profile.fetch_sigma)
        )
        dormant = profile.dormant_since is not None and fetched >= profile.dormant_since
        if dormant or fetched > self.end:
            return result
        result.acked_at = result.updated_at = result.handed_at = fetched
        if rng.random() < 0.003:
            result.state, result.ack_result = "refused", "fail"
            result.ack_reason = rng.choice(_REFUSALS)
            result.handed_at = None
        else:
            result.state, result.ack_result, result.delivered_at = "delivered", "done", fetched
        return result

    def _push(
        self,
        recipient: str,
        profile: Profile,
        channel: str,
        created: datetime,
        first: datetime,
        worker: str,
    ) -> Transport:
        rng = self.rng
        result = Transport(state="queued", updated_at=created)
        url = f"http://127.0.0.1:9100/agencies/{recipient}/edxml"
        at = first
        for number in range(1, len(RETRY_DELAYS) + 2):
            if at > self.end:
                result.state, result.next_attempt_at = "retrying", at
                return result
            done = at + timedelta(milliseconds=_lognormal(rng, 120.0, 0.6))
            outage = next((o for o in profile.outages if o.covers(at)), None)
            down = outage is not None
            if outage is not None and outage.kind == "permanent":
                error = "webhook refused the packet with 404: no route /edxml on this server"
                result.attempts.append(
                    (
                        number,
                        at,
                        done,
                        "permanent",
                        f"[delivery.webhook_refused] {error}",
                        404,
                        worker,
                    )
                )
                result.state, result.last_error, result.updated_at = "parked", error, done
                return self._replayed(outage, channel, result, number)
            if down or rng.random() < profile.transient:
                if channel == "axis":
                    code, error, status = (
                        "delivery.axis_unavailable",
                        "the national axis answered 503: Hệ thống đang bảo trì",
                        503,
                    )
                elif down:
                    code, status = "delivery.webhook_unreachable", None
                    error = (
                        f"webhook {url} unreachable: ConnectError: [Errno 111] Connection refused"
                    )
                else:
                    code, error, status = (
                        "delivery.webhook_status",
                        "webhook answered 503: Service Unavailable",
                        503,
                    )
                result.attempts.append(
                    (number, at, done, "transient", f"[{code}] {error}", status, worker)
                )
                result.updated_at = done
                expiring = outage is not None and outage.kind == "expire"
                if expiring and done - created >= MAX_AGE:
                    result.state = "expired"
                    result.last_error = (
                        f"undelivered after {done - created} (maximum age); last error: {error}"
                    )
                    return self._replayed(outage, channel, result, number)
                if number > len(RETRY_DELAYS):
                    result.state = "parked"
                    result.last_error = f"{number} attempts failed; last error: {error}"
                    return self._replayed(outage, channel, result, number)
                wait = RETRY_DELAYS[number - 1] * (1 + rng.uniform(0, 0.1))
                if expiring:
                    wait = max(wait, 12 * 3600.0)  # the axis's Retry-After
                result.state, result.last_error = "retrying", error
                at = done + timedelta(seconds=wait)
                result.next_attempt_at = at
                continue
            result.attempts.append((number, at, done, "delivered", None, 200, worker))
            result.state, result.delivered_at, result.handed_at = "delivered", done, done
            result.updated_at, result.last_error, result.next_attempt_at = done, None, None
            if channel == "axis":
                result.external_ref = f"vxp-{rng.getrandbits(48):012x}"
            return result
        raise AssertionError("unreachable")

    def _replayed(
        self, outage: Outage | None, channel: str, result: Transport, number: int
    ) -> Transport:
        """A parked or expired delivery, replayed by operators if its outage's were."""
        replay = outage.replay_at if outage is not None else None
        if replay is None or replay > self.end or result.updated_at is None:
            return result
        assert outage is not None
        if result.updated_at > replay or self.rng.random() >= outage.replay_share:
            return result
        result.replayed_at = replay
        at = replay + timedelta(seconds=self.rng.uniform(0.5, 3.0))
        done = at + timedelta(milliseconds=_lognormal(self.rng, 120.0, 0.6))
        worker = self.rng.choice(_WORKERS)
        result.attempts.append((number + 1, at, done, "delivered", None, 200, worker))
        result.state, result.delivered_at, result.handed_at = "delivered", done, done
        result.updated_at, result.next_attempt_at = done, None
        if channel == "axis":
            result.external_ref = f"vxp-{self.rng.getrandbits(48):012x}"
        return result

    # -- rows ------------------------------------------------------------------------------

    def _delivery_rows(
        self, batch: Batch, packet_id: str, recipient: str, created: datetime
    ) -> Transport:
        member = self.city.members[recipient]
        result = self.transport(recipient, member.channel, created)
        delivery_id = _ulid(created, self.rng)
        last = result.attempts[-1] if result.attempts else None
        batch.add(
            "deliveries",
            (
                delivery_id,
                packet_id,
                recipient,
                member.channel,
                result.state,
                len(result.attempts),
                result.last_error if result.state != "delivered" else None,
                result.next_attempt_at if result.state == "retrying" else None,
                result.delivered_at,
                result.acked_at,
                result.ack_result,
                result.ack_reason,
                result.external_ref,
                created,
                result.updated_at or (last[2] if last else created),
            ),
        )
        for number, started, finished, outcome, error, status, worker in result.attempts:
            batch.add(
                "delivery_attempts",
                (delivery_id, number, started, finished, outcome, error, status, worker),
            )
        published = created + timedelta(milliseconds=self.rng.uniform(20, 400))
        batch.add(
            "outbox",
            (delivery_id, "ingest", created, published if result.state != "queued" else None),
        )
        if result.replayed_at is not None:
            replayed = result.replayed_at
            batch.add(
                "outbox",
                (delivery_id, "replay", replayed, replayed + timedelta(milliseconds=150)),
            )
            before = result.attempts[-2]
            state = "expired" if "maximum age" in (result.last_error or "") else "parked"
            self.replays[(recipient, replayed, state)].append(
                ReplayItem(
                    delivery_id=delivery_id,
                    packet_id=packet_id,
                    recipient=recipient,
                    channel=member.channel,
                    state=state,
                    attempts=before[0],
                    last_error=result.last_error,
                    since=before[2],
                )
            )
        return result

    def _packet_row(
        self,
        batch: Batch,
        *,
        packet_id: str,
        kind: str,
        sender: str,
        document_id: str,
        received: datetime,
        size: int,
        code: str,
        subject: str | None,
        summary: str,
        search: str,
        status_code: str | None = None,
        addressee: str | None = None,
        pdf: tuple[str, int, int, str | None] | None = None,
    ) -> None:
        rng = self.rng
        roll = rng.random()
        signature: tuple[str, str | None, bool | None]
        if roll < 0.55:
            signature = ("valid", None, rng.random() < 0.92)
        elif roll < 0.98:
            signature = ("absent", None, None)
        else:
            signature = ("unverifiable", "the signature names no usable certificate", None)
        source = "axis" if sender == self.city.government else "api"
        batch.add(
            "packets",
            (
                packet_id,
                kind,
                f"{rng.getrandbits(256):064x}",
                size,
                sender,
                sender if source == "api" else None,
                source,
                document_id,
                0 if kind == "edoc" else None,
                status_code,
                addressee,
                code,
                subject,
                *signature,
                summary,
                received,
                *(pdf if pdf is not None else (None, 0, 0, None)),
                search,
            ),
        )

    def _pdf(self, level: int, received: datetime) -> tuple[str, int, int, str | None]:
        rng = self.rng
        share = self.plan.signed_share.get(level, 0.8)
        roll = rng.random()
        if roll < share:
            state = "signed"
        else:
            rest = (roll - share) / max(1e-9, 1 - share)
            state = (
                "unsigned"
                if rest < 0.7
                else "no-pdf"
                if rest < 0.85
                else "unverifiable"
                if rest < 0.95
                else "tampered"
            )
        report = self.templates.pdf_reports[state]
        if state == "no-pdf":
            return state, 0, 0, report
        count = rng.choice((1, 1, 1, 2, 3))
        signed = count if state == "signed" else 0
        moment = received - timedelta(minutes=rng.uniform(5, 600))
        report = _SIGNING_TIME.sub(f'"signing_time": "{moment:%Y-%m-%dT%H:%M:%SZ}"', report, 1)
        return state, count, signed, report

    def document(self, batch: Batch) -> int:
        """One document, its deliveries and the statuses back; the deliveries written."""
        rng = self.rng
        received = self.times.pop() if self.times else self.clock.draw()
        sender, recipients = self._flow()
        member = self.city.members[sender]
        weight_roll = rng.random()
        kind = next(k for w, k in zip(_KIND_WEIGHTS, _KINDS, strict=True) if weight_roll < w)
        notation = f"{kind[1]}{member.notation}" if kind[1] else member.notation
        if member.group in ("district", "commune") and kind[1]:
            notation = f"{kind[1]}UBND"
        year = received.astimezone(LOCAL).year
        self.numbers[(sender, str(year))] += 1
        number = self.numbers[(sender, str(year))]
        code = f"{number}/{notation}"
        local_date = received.astimezone(LOCAL)
        document_id = f"{sender},{local_date:%Y/%m/%d},{code}"
        topic = rng.choice(_TOPICS)
        subject = f"{kind[2]}{topic}"
        if member.group == "commune":
            subject += f" trên địa bàn {member.name.removeprefix('UBND ')}"
        elif rng.random() < 0.15:
            subject += f" (lần {rng.randint(2, 3)})"
        packet_id = _ulid(received, rng)
        pdf = self._pdf(member.level, received)
        size = (
            int(_lognormal(rng, 350_000, 0.9)) + 4_000
            if pdf[1]
            else int(_lognormal(rng, 60_000, 0.6))
        )
        summary = _summary(
            self.templates.summary,
            sender=sender,
            to=recipients,
            document_id=document_id,
            code=code,
            subject=subject,
        )
        self._packet_row(
            batch,
            packet_id=packet_id,
            kind="edoc",
            sender=sender,
            document_id=document_id,
            received=received,
            size=size,
            code=code,
            subject=subject,
            summary=summary,
            search=search_text(document_id, code, subject),
            pdf=pdf,
        )
        report = self.report
        report.documents_by_level[member.level] += 1
        report.pdf_states[pdf[0]] += 1
        if pdf[0] == "signed":
            report.signed_by_level[member.level] += 1
        if len(report.sample_documents) < 200 and rng.random() < 0.05:
            report.sample_documents.append((sender, document_id))
        written = 0
        search = search_text(document_id, code)
        for recipient in recipients:
            ingest = received + timedelta(milliseconds=rng.uniform(1, 30))
            result = self._delivery_rows(batch, packet_id, recipient, ingest)
            written += 1
            report.delivery_states[result.state] += 1
            written += self._statuses(
                batch, sender, recipient, (document_id, code, packet_id, search), ingest, result
            )
        return written

    def _statuses(
        self,
        batch: Batch,
        sender: str,
        recipient: str,
        document: tuple[str, str, str, str],
        created: datetime,
        result: Transport,
    ) -> int:
        """The recipient's statuses about the document and their deliveries to the sender."""
        rng = self.rng
        document_id, code, packet_id, search = document
        profile = self.profiles[recipient]
        codes: list[tuple[str, datetime]] = []
        handed = result.handed_at
        if handed is not None and rng.random() < profile.answers:
            at = handed + timedelta(seconds=_lognormal(rng, 90.0, 0.8))
            codes.append(("01", at))
            if rng.random() < 0.01:
                codes.append(("01", at + timedelta(minutes=rng.uniform(1, 30))))
            if rng.random() < 0.012:
                codes.append(("02", _in_office(at + timedelta(hours=_lognormal(rng, 3, 0.7)), rng)))
            elif rng.random() < profile.registers:
                at = _in_office(at + timedelta(hours=_lognormal(rng, 4.0, 0.9)), rng)
                codes.append(("03", at))
                if rng.random() < 0.25:
                    at = _in_office(at + timedelta(hours=_lognormal(rng, 20.0, 0.8)), rng)
                    codes.append(("04", at))
                if rng.random() < 0.4:
                    at = _in_office(at + timedelta(days=_lognormal(rng, 4.0, 0.7)), rng)
                    codes.append(("06", at))
        state: str | None = None
        state_at: datetime | None = None
        first_ack: datetime | None = None
        first_accept: datetime | None = None
        written = 0
        for status, at in codes:
            if at > self.end:
                break
            first_ack = first_ack or at
            if status in _PROGRESSION[1:]:
                first_accept = first_accept or at
            effect = "unchanged"
            if state == "02":
                effect = "unchanged"
            elif status == "02":
                state, state_at, effect = "02", at, "refused"
            elif state is None or _PROGRESSION.index(status) > _PROGRESSION.index(state):
                state, state_at, effect = status, at, "advanced"
            status_id = _ulid(at, rng)
            self._packet_row(
                batch,
                packet_id=status_id,
                kind="status",
                sender=recipient,
                document_id=document_id,
                received=at,
                size=int(rng.uniform(1_900, 3_400)),
                code=code,
                subject=None,
                summary=_summary(
                    self.templates.status_summary,
                    sender=recipient,
                    to=[sender],
                    document_id=document_id,
                    code=code,
                    status_code=status,
                ),
                search=search,
                status_code=status,
                addressee=sender,
            )
            reported = at - timedelta(seconds=rng.uniform(0.5, 20))
            local_text = reported.astimezone(LOCAL).strftime("%Y/%m/%d %H:%M:%S")
            batch.add(
                "status_events",
                (
                    status_id,
                    sender,
                    document_id,
                    recipient,
                    recipient,
                    status,
                    _STATUS_DESCRIPTIONS.get(status),
                    local_text,
                    reported.replace(microsecond=0),
                    at,
                    True,
                    effect,
                ),
            )
            self.report.status_codes[status] += 1
            self._delivery_rows(batch, status_id, sender, at + timedelta(milliseconds=5))
            written += 1
        batch.add(
            "document_recipients",
            (
                sender,
                document_id,
                recipient,
                packet_id,
                state,
                state_at,
                created,
                state_at or created,
                first_ack,
                first_accept,
            ),
        )
        return written


def _summary(template: Mapping[str, Any], **changes: Any) -> str:
    """edxml's inspection summary of a packet like the template's, with these fields."""
    changes["from"] = changes.pop("sender")
    return json.dumps({**template, **changes}, ensure_ascii=False)


# -- writing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dropped:
    indexes: list[tuple[str, str]]
    foreign_keys: list[tuple[str, str, str]]


def _drop_secondary(connection: psycopg.Connection[Any]) -> _Dropped:
    """Drop the loaded tables' foreign keys and their indexes that back no constraint."""
    tables = list(FILLED_TABLES)
    foreign = connection.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
        ORDER BY 1, 2
        """,
        (tables,),
    ).fetchall()
    indexes = connection.execute(
        """
        SELECT ic.relname, pg_get_indexdef(ic.oid)
        FROM pg_index x
        JOIN pg_class ic ON ic.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ic.oid)
        ORDER BY 1
        """,
        (tables,),
    ).fetchall()
    for table, name, _ in foreign:
        connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    return _Dropped([(n, d) for n, d in indexes], [(t, n, d) for t, n, d in foreign])


def _restore(
    connection: psycopg.Connection[Any], dropped: _Dropped, say: Callable[[str], None]
) -> None:
    took: list[tuple[float, str]] = []
    for name, definition in dropped.indexes:
        began = time.perf_counter()
        connection.execute(definition)
        connection.commit()
        took.append((time.perf_counter() - began, name))
    for table, name, definition in dropped.foreign_keys:
        began = time.perf_counter()
        connection.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        connection.commit()
        took.append((time.perf_counter() - began, f"{name} (validated)"))
    slowest = ", ".join(f"{name} {seconds:.1f} s" for seconds, name in sorted(took)[::-1][:4])
    say(
        f"{len(dropped.indexes)} indexes and {len(dropped.foreign_keys)} foreign keys put back "
        f"in {sum(s for s, _ in took):.1f} s (slowest: {slowest})"
    )


def _copy(connection: psycopg.Connection[Any], batch: Batch, report: FillReport) -> None:
    with connection.cursor() as cursor:
        for table in FILLED_TABLES:
            rows = batch.rows[table]
            if not rows:
                continue
            columns = ", ".join(COLUMNS[table])
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            report.rows[table] += len(rows)
            rows.clear()
    connection.commit()


class _Writer:
    """COPYs batches on its own thread while the next batch is drawn (the server parses and
    stores rows on the other core)."""

    def __init__(self, connection: psycopg.Connection[Any], report: FillReport) -> None:
        self._connection = connection
        self._report = report
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="copy-writer", daemon=True)

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def put(self, batch: Batch) -> None:
        if self._error is not None:
            raise RuntimeError("writing rows failed") from self._error
        self._queue.put(batch)

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is not None:
                continue
            try:
                _copy(self._connection, batch, self._report)
            except BaseException as exc:
                self._error = exc

    def __exit__(self, *exc_info: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise RuntimeError("writing rows failed") from self._error


@dataclass(frozen=True)
class _Poll:
    """One round of an axis receive loop (:class:`hub.axis.link.PollOutcome`)."""

    kind: str
    listed: int
    accepted: int
    repeated: int = 0
    rejected: int = 0
    left: int = 0
    error: str | None = None


def _write_operations(url: str, simulation: Simulation) -> None:
    """Token issues and the operators' replays, through the hub's own audit code; the axis
    receive loops' last rounds."""
    engine = create_engine(url)
    entries: list[tuple[datetime, str, str, str, str, dict[str, Any]]] = []
    start = simulation.start
    for n in range(6):
        at = start + timedelta(hours=2 + n * 5)
        subject = f"operator ops-{n}"
        entries.append((at, "cli:root", "operator.token-issued", subject, "", {"label": "bench"}))
    for (recipient, at, state), items in simulation.replays.items():
        selection = ReplayFilter(
            state=state,
            recipient=recipient,
            since=min(item.since for item in items) - timedelta(minutes=1),
        )
        details = {
            "filter": selection.model_dump(mode="json"),
            "deliveries": [item.model_dump(mode="json") for item in items],
        }
        reason = f"Đơn vị {recipient} đã khắc phục sự cố kết nối"
        subject = f"{len(items)} {state} deliveries"
        entries.append((at, OPERATOR, "deliveries.replayed", subject, reason, details))
        simulation.report.replays += 1
        simulation.report.replayed_deliveries += len(items)
    entries.sort(key=lambda entry: entry[0])
    try:
        with Session(engine) as session, session.begin():
            for at, actor, action, subject, reason, details in entries:
                audit.append(
                    session,
                    actor=actor,
                    action=action,
                    subject=subject,
                    reason=reason,
                    details=details,
                    at=at,
                )
            end = simulation.end
            for round_ in range(3):
                at = end - timedelta(seconds=30 * (3 - round_))
                for poll in (_Poll("edoc", 2, 2), _Poll("status", 5, 4, repeated=1)):
                    record_poll_in(session, "vxp", poll, at=at)
    finally:
        engine.dispose()


def _import_city(url: str, plan: CityPlan) -> DirectoryData:
    directory = generate_city(plan)
    engine = create_engine(url)
    try:
        with Session(engine) as session, session.begin():
            import_directory(session, parse_yaml(dump_yaml(directory), source="citygen"))
    finally:
        engine.dispose()
    return directory


def _estimate_documents(plan: FillPlan, city: City, start: datetime, end: datetime) -> int:
    """Documents needed for the planned deliveries, from a pilot run written nowhere: the mean
    number of recipients per document from many drawn flows (broadcasts make it vary a lot),
    and the deliveries per document delivery (statuses back) from fewer whole documents."""
    pilot = Simulation(
        FillPlan(deliveries=0, days=plan.days, seed=plan.seed + 99, city=plan.city, end=end),
        city,
        start,
        end,
    )
    flows = 20_000
    recipients = sum(len(pilot._flow()[1]) for _ in range(flows)) / flows
    batch = Batch()
    written = 0
    for _ in range(min(1_000, max(100, plan.deliveries // 50))):
        written += pilot.document(batch)
        if len(batch) > 50_000:
            batch = Batch()
    per_delivery = written / max(1, sum(pilot.report.delivery_states.values()))
    return max(1, round(plan.deliveries / (recipients * per_delivery)))


def fill_database(url: str, plan: FillPlan, *, say: Callable[[str], None] = print) -> FillReport:
    """Migrate the (empty) database at ``url``, import the city, and write the traffic."""
    end = (plan.end or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    start = end - timedelta(days=plan.days)
    upgrade(Settings(database_url=url))
    directory = _import_city(url, plan.city)
    city = city_of(directory)
    simulation = Simulation(plan, city, start, end)
    simulation.report.agencies = len(directory.agencies)
    planned = _estimate_documents(plan, city, start, end)
    simulation.plan_documents(planned)
    say(
        f"city: {len(directory.agencies)} agencies ({len(city.departments)} departments, "
        f"{len(city.districts)} districts, {sum(map(len, city.communes.values()))} communes); "
        f"about {planned:,} documents for {plan.deliveries:,} deliveries over {plan.days} days"
    )
    report = simulation.report
    began = time.perf_counter()
    with psycopg.connect(psycopg_url(url)) as connection:
        dropped = _drop_secondary(connection)
        connection.commit()
        with _Writer(connection, report) as writer:
            batch = Batch()
            deliveries = shown = documents = 0
            while simulation.times or deliveries < plan.deliveries:
                deliveries += simulation.document(batch)
                documents += 1
                if documents % plan.batch_documents == 0:
                    writer.put(batch)
                    batch = Batch()
                    if deliveries - shown >= 100_000:
                        shown = deliveries
                        elapsed = time.perf_counter() - began
                        say(
                            f"  {deliveries:,} deliveries drawn, {report.total_rows:,} rows "
                            f"written, {report.total_rows / elapsed:,.0f} rows/s"
                        )
            writer.put(batch)
        report.fill_seconds = time.perf_counter() - began
        say(
            f"wrote {report.total_rows:,} rows in {report.fill_seconds:.1f} s "
            f"({report.total_rows / report.fill_seconds:,.0f} rows/s): "
            + ", ".join(f"{table} {report.rows[table]:,}" for table in FILLED_TABLES)
        )
        began = time.perf_counter()
        _restore(connection, dropped, say)
        report.index_seconds = time.perf_counter() - began
    _write_operations(url, simulation)
    began = time.perf_counter()
    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")
    report.analyse_seconds = time.perf_counter() - began
    say(f"VACUUM ANALYZE: {report.analyse_seconds:.1f} s")
    return report
