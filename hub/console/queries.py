"""The SQL behind the console's pages: aggregates computed by the database, lists paged.

Written for a million deliveries on PostgreSQL: every aggregate is one ``GROUP BY`` over a
time window served by a covering index of revisions 0005 and 0006 (index-only scans), the
overview's three windows are counted in one pass each (``FILTER``), the median answer times
read the first answer times kept on each business state (revision 0006), lists are
keyset-paged on indexed columns, and per-row details are fetched for one page at a time.
Percentiles use ``percentile_cont`` on PostgreSQL; SQLite (small deployments) has none, so
there the durations are read in order and :func:`hub.console.figures.percentile` is used.
"""

from __future__ import annotations

import base64
import itertools
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from hub.axis.reconcile import latest_reconciliations
from hub.channels.registry import peer_label
from hub.channels.webhook import origin
from hub.console.figures import (
    DURATION_BUCKETS,
    LOCAL_TZ,
    AgencyFigures,
    AgencyRow,
    bucket_index,
    percentile,
)
from hub.db.models import (
    Agency,
    AgencyLevel,
    AgencyLevelVersion,
    AgencyToken,
    AuditEntry,
    AxisPollState,
    AxisReconciliation,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    DocumentRecipient,
    Packet,
)
from hub.db.text import like_pattern, search_words

__all__ = [
    "ACCEPTING",
    "ACKNOWLEDGING",
    "AuditPage",
    "DayVolume",
    "DirectoryEntry",
    "DocumentHit",
    "DocumentPage",
    "DocumentQuery",
    "FailedDelivery",
    "FailurePage",
    "PeerFigures",
    "TransportFigures",
    "UnackedDocument",
    "UnackedRow",
    "agency_figures",
    "agency_rows",
    "answer_medians",
    "audit_page",
    "axis_link",
    "daily_volume",
    "decode_cursor",
    "directory_entries",
    "encode_cursor",
    "failure_page",
    "folded",
    "peer_figures",
    "search_documents",
    "traffic",
    "transport_figures",
    "unacknowledged",
    "unacknowledged_documents",
]

ACKNOWLEDGING = ("01", "02", "03", "04", "05", "06")
"""Statuses that show a recipient's system has the document (02 refuses it, having it)."""
ACCEPTING = ("03", "04", "05", "06")
"""Statuses at or past registration (03)."""
_NEW_DOCUMENT_TYPES = (0, 3)
"""New documents and replacements; revokes and updates follow an earlier one."""
_FAILED = (DeliveryState.PARKED, DeliveryState.EXPIRED, DeliveryState.REFUSED)
_IN_FLIGHT = (DeliveryState.QUEUED, DeliveryState.RETRYING, DeliveryState.AVAILABLE)
_SUCCESS_OUTCOMES = ("delivered", "available")
_UNIX_EPOCH_JULIAN = 2440587.5
_LOCAL_OFFSET_SECONDS = 7 * 3600
_K = TypeVar("_K", bound=Hashable)
LOCAL_ZONE_NAME = "Asia/Ho_Chi_Minh"
"""The city's zone (no daylight saving: always UTC+7, as :data:`_LOCAL_OFFSET_SECONDS`)."""


# -- dialect helpers ---------------------------------------------------------------------


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """``later - earlier`` in seconds, never negative."""
    if _postgresql(session):
        # date_part is double precision; EXTRACT is numeric since PostgreSQL 14 (slower).
        return func.greatest(func.date_part("epoch", later - earlier), 0.0)
    return func.max((func.julianday(later) - func.julianday(earlier)) * 86400.0, 0.0)


def _local_day(session: Session, column: Any) -> ColumnElement[Any]:
    """The day on the city's clock: a date on PostgreSQL, days since 1970-01-01 on SQLite."""
    if _postgresql(session):
        return cast(func.timezone(LOCAL_ZONE_NAME, column), Date)
    return cast(
        (func.julianday(column) - _UNIX_EPOCH_JULIAN) + _LOCAL_OFFSET_SECONDS / 86400.0, Integer
    )


def _day_of(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date(1970, 1, 1) + timedelta(days=int(value))


def _bucket(seconds: ColumnElement[float]) -> ColumnElement[int]:
    whens = [(seconds < bound, literal(index)) for index, bound in enumerate(DURATION_BUCKETS)]
    return case(*whens, else_=literal(len(DURATION_BUCKETS)))


def _medians(
    session: Session, keyed: Select[Any], columns: int
) -> dict[Any, tuple[float | None, ...]]:
    """Median of each value column of ``keyed`` (key, value1, …) per key; NULLs ignored."""
    sub = keyed.subquery()
    key, *values = list(sub.c)
    if _postgresql(session):
        rows = session.execute(
            select(key, *(func.percentile_cont(0.5).within_group(v) for v in values)).group_by(key)
        )
        return {row[0]: tuple(_float(v) for v in row[1:]) for row in rows}
    collected: dict[Any, list[list[float]]] = defaultdict(lambda: [[] for _ in range(columns)])
    for row in session.execute(select(key, *values)):
        for index, value in enumerate(row[1:]):
            if value is not None:
                collected[row[0]][index].append(float(value))
    return {
        group: tuple(percentile(sorted(series), 0.5) for series in lists)
        for group, lists in collected.items()
    }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# -- the directory ---------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryEntry:
    """An agency as the console lists it."""

    code: str
    name: str
    level: int
    parent_code: str | None
    channel: str
    active: bool
    illustrative: bool
    children: int
    webhook_origin: str | None
    peer: str
    """The peer its deliveries reach, as the console shows it (its channel's peer label)."""
    tokens: int = 0
    valid_from: datetime | None = None
    """When a directory change brought it into being (None: before the history)."""
    valid_until: datetime | None = None
    """When a directory change ended it (None: it exists)."""

    def in_force(self, moment: datetime) -> bool:
        """Whether it exists at ``moment``."""
        return (self.valid_from is None or self.valid_from <= moment) and (
            self.valid_until is None or moment < self.valid_until
        )


def directory_entries(session: Session, *, with_tokens: bool = False) -> list[DirectoryEntry]:
    """Every agency with its number of children (and active tokens), by code."""
    children: dict[str, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Agency.parent_code, func.count())
            .where(Agency.parent_code.is_not(None))
            .group_by(Agency.parent_code)
        ).all()
    )
    tokens: dict[str, int] = {}
    if with_tokens:
        tokens = dict(
            session.execute(
                select(AgencyToken.agency_code, func.count())
                .where(AgencyToken.revoked_at.is_(None))
                .group_by(AgencyToken.agency_code)
            ).all()
        )
    return [
        DirectoryEntry(
            code=row.code,
            name=row.name,
            level=row.level,
            parent_code=row.parent_code,
            channel=row.channel.value,
            active=row.active,
            illustrative=row.illustrative,
            children=children.get(row.code, 0),
            webhook_origin=_origin(row.channel_settings),
            peer=peer_label(row.channel, row.code, row.channel_settings or {}),
            tokens=tokens.get(row.code, 0),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
        )
        for row in session.scalars(select(Agency).order_by(Agency.code))
    ]


def level_names(session: Session, at: datetime | None = None) -> dict[int, str]:
    """The directory's levels and their names (only those in force at ``at``, when given)."""
    stored = {row.level: row.name for row in session.scalars(select(AgencyLevel))}
    if at is None:
        return stored
    versions = list(session.scalars(select(AgencyLevelVersion).order_by(AgencyLevelVersion.id)))
    found = {
        level: name for level, name in stored.items() if level not in {v.level for v in versions}
    }
    found.update(
        (row.level, row.name)
        for row in versions
        if (row.valid_from is None or row.valid_from <= at)
        and (row.valid_until is None or at < row.valid_until)
    )
    return found


def _origin(settings: dict[str, Any] | None) -> str | None:
    url = (settings or {}).get("url")
    return origin(url) if isinstance(url, str) and "://" in url else None


# -- per-agency figures ------------------------------------------------------------------


def agency_figures(
    session: Session,
    since: datetime,
    *,
    until: datetime | None = None,
    medians: bool = True,
    median_codes: Sequence[str] | None = None,
) -> dict[str, AgencyFigures]:
    """What every agency sent, received, answered and was delivered since ``since`` (and
    before ``until``, when given), by the code each was recorded under; with ``medians``, also
    how long it took to answer 01 and 03 (the costliest part; only for the agencies of
    ``median_codes`` when given)."""
    figures: dict[str, AgencyFigures] = defaultdict(AgencyFigures)
    sent = session.execute(
        select(
            Packet.sender_code, Packet.kind, Packet.business_type, Packet.pdf_signed, func.count()
        )
        .where(Packet.received_at >= since, *_before(Packet.received_at, until))
        .group_by(Packet.sender_code, Packet.kind, Packet.business_type, Packet.pdf_signed)
    )
    for sender, kind, business_type, pdf_signed, count in sent:
        row = figures[sender]
        if kind == "status":
            row.statuses_sent += count
            continue
        if business_type not in _NEW_DOCUMENT_TYPES:
            continue
        row.documents_sent += count
        attribute = {
            "signed": "signed",
            "tampered": "tampered",
            "unverifiable": "unverifiable",
            "unsigned": "unsigned",
        }.get(pdf_signed or "", "no_pdf")
        setattr(row, attribute, getattr(row, attribute) + count)
    received = session.execute(
        select(DocumentRecipient.recipient_code, DocumentRecipient.status, func.count())
        .where(DocumentRecipient.created_at >= since, *_before(DocumentRecipient.created_at, until))
        .group_by(DocumentRecipient.recipient_code, DocumentRecipient.status)
    )
    for recipient, status, count in received:
        row = figures[recipient]
        row.received += count
        if status in ACKNOWLEDGING:
            row.acknowledged += count
        if status in ACCEPTING:
            row.accepted += count
        if status == "06":
            row.completed += count
        if status == "02":
            row.refused += count
    delivered = session.execute(
        select(Delivery.recipient_code, Delivery.state, func.count())
        .where(Delivery.created_at >= since, *_before(Delivery.created_at, until))
        .group_by(Delivery.recipient_code, Delivery.state)
    )
    for recipient, state, count in delivered:
        if state is DeliveryState.MERGED:
            continue  # carried by the packet's delivery to the recipients' successor
        row = figures[recipient]
        row.deliveries += count
        if state is DeliveryState.DELIVERED:
            row.delivered += count
        elif state in _FAILED:
            row.failed += count
        else:
            row.in_flight += count
    for recipient, (to_01, to_03) in (
        answer_medians(session, since, median_codes) if medians else {}
    ).items():
        figures[recipient].seconds_to_01 = to_01
        figures[recipient].seconds_to_03 = to_03
    return dict(figures)


def folded(
    figures: Mapping[str, AgencyFigures], home: Callable[[str], str | None]
) -> dict[str, AgencyFigures]:
    """Figures recorded under codes that no longer exist added to the agency each leads to
    (``home``: its successor in force, see :meth:`hub.directory.structure.Structure.place`);
    codes that lead nowhere are left out, as codes outside the directory always were."""
    homes = {code: home(code) for code in figures}
    found = {code: counts for code, counts in figures.items() if homes[code] == code}
    for code, counts in figures.items():
        target = homes[code]
        if target is not None and target != code:
            found.setdefault(target, AgencyFigures()).add(counts)
    return found


def _before(column: Any, until: datetime | None) -> list[ColumnElement[bool]]:
    return [] if until is None else [column < until]


def answer_medians(
    session: Session, since: datetime, codes: Sequence[str] | None = None
) -> dict[str, tuple[float | None, ...]]:
    """Per recipient (of ``codes``, or every one): median seconds from a document's arrival
    to its first 01 and first 03, from the first answer times kept on its business state
    (revision 0006; read from the index of the window's rows)."""
    keyed = select(
        DocumentRecipient.recipient_code,
        _seconds(session, DocumentRecipient.first_ack_at, DocumentRecipient.created_at),
        case(
            (
                DocumentRecipient.first_accept_at.is_not(None),
                _seconds(session, DocumentRecipient.first_accept_at, DocumentRecipient.created_at),
            )
        ),
    ).where(DocumentRecipient.created_at >= since, DocumentRecipient.first_ack_at.is_not(None))
    if codes is not None:
        keyed = keyed.where(DocumentRecipient.recipient_code.in_(list(codes)))
    return _medians(session, keyed, 2)


def agency_rows(
    entries: Sequence[DirectoryEntry], figures: dict[str, AgencyFigures]
) -> list[AgencyRow]:
    """Directory entries joined with their figures (agencies without any get zeros)."""
    return [
        AgencyRow(
            code=entry.code,
            name=entry.name,
            level=entry.level,
            parent_code=entry.parent_code,
            channel=entry.channel,
            active=entry.active,
            children=entry.children,
            figures=figures.get(entry.code) or AgencyFigures(),
        )
        for entry in entries
    ]


# -- transport -------------------------------------------------------------------------


@dataclass(frozen=True)
class TransportFigures:
    """Packets and deliveries of a window, and how long deliveries took."""

    documents: int
    statuses: int
    states: dict[str, int]
    delivered_p50: float | None
    delivered_p95: float | None
    histogram: tuple[int, ...]
    """Deliveries per duration bucket (:data:`hub.console.figures.DURATION_BUCKETS`)."""

    def state(self, name: str) -> int:
        """Deliveries in one state."""
        return self.states.get(name, 0)


def transport_figures(session: Session, since: datetime) -> TransportFigures:
    """Packets accepted and deliveries by state since ``since``; delivery time percentiles."""
    return traffic(session, {"window": since})[0]["window"]


def traffic(
    session: Session, starts: Mapping[_K, datetime], now: datetime | None = None
) -> tuple[dict[_K, TransportFigures], list[DayVolume]]:
    """:func:`transport_figures` of several windows (by key) at once and, given ``now``, the
    :func:`daily_volume` of the widest: each table is read once over the widest window,
    grouped by local day, each window counted with ``FILTER``."""
    keys = list(starts)
    earliest = min(starts.values())
    days = _day_grid(earliest, now)
    kinds: dict[_K, dict[str, int]] = {key: defaultdict(int) for key in keys}
    packet_day = _local_day(session, Packet.received_at)
    for number, kind, total, *counts in session.execute(
        select(
            packet_day,
            Packet.kind,
            func.count(),
            *(func.count().filter(Packet.received_at >= starts[k]) for k in keys),
        )
        .where(Packet.received_at >= earliest)
        .group_by(packet_day, Packet.kind)
    ):
        for key, count in zip(keys, counts, strict=True):
            kinds[key][kind] += int(count)
        volume = days.get(_day_of(number))
        if volume is not None:
            if kind == "status":
                volume.statuses += total
            else:
                volume.documents += total
    states: dict[_K, dict[str, int]] = {key: defaultdict(int) for key in keys}
    delivery_day = _local_day(session, Delivery.created_at)
    for number, state, total, *counts in session.execute(
        select(
            delivery_day,
            Delivery.state,
            func.count(),
            *(func.count().filter(Delivery.created_at >= starts[k]) for k in keys),
        )
        .where(Delivery.created_at >= earliest)
        .group_by(delivery_day, Delivery.state)
    ):
        for key, count in zip(keys, counts, strict=True):
            if count:
                states[key][state.value] += int(count)
        volume = days.get(_day_of(number))
        if volume is not None and state is not DeliveryState.MERGED:
            volume.deliveries += total
            if state is DeliveryState.DELIVERED:
                volume.delivered += total
            elif state in _FAILED:
                volume.failed += total
    histograms, percentiles = _delivery_times(session, starts)
    figures = {
        key: TransportFigures(
            documents=kinds[key].get("edoc", 0),
            statuses=kinds[key].get("status", 0),
            states=dict(states[key]),
            delivered_p50=percentiles[key][0],
            delivered_p95=percentiles[key][1],
            histogram=tuple(histograms[key]),
        )
        for key in keys
    }
    return figures, [days[key] for key in sorted(days)]


def _day_grid(since: datetime, now: datetime | None) -> dict[date, DayVolume]:
    if now is None:
        return {}
    first = since.astimezone(LOCAL_TZ).date()
    last = now.astimezone(LOCAL_TZ).date()
    return {
        first + timedelta(days=offset): DayVolume(first + timedelta(days=offset))
        for offset in range((last - first).days + 1)
    }


def _delivery_times(
    session: Session, starts: Mapping[_K, datetime]
) -> tuple[dict[_K, list[int]], dict[_K, tuple[float | None, float | None]]]:
    """Per window: delivered deliveries per duration bucket, and the p50 and p95 durations."""
    keys = list(starts)
    seconds = _seconds(session, Delivery.delivered_at, Delivery.created_at)
    done = and_(Delivery.created_at >= min(starts.values()), Delivery.delivered_at.is_not(None))
    histograms = {key: [0] * (len(DURATION_BUCKETS) + 1) for key in keys}
    if not _postgresql(session):
        values: dict[_K, list[float]] = {key: [] for key in keys}
        for created, value in session.execute(
            select(Delivery.created_at, seconds).where(done).order_by(seconds)
        ):
            for key in keys:
                if created >= starts[key]:
                    values[key].append(float(value))
                    histograms[key][bucket_index(float(value))] += 1
        return histograms, {
            key: (percentile(values[key], 0.5), percentile(values[key], 0.95)) for key in keys
        }
    # One pass: the durations computed once per row (OFFSET 0 keeps the subquery apart),
    # each window's percentiles and its cumulative counts below each bucket's bound.
    timed = (
        select(Delivery.created_at.label("created"), seconds.label("seconds"))
        .where(done)
        .offset(0)
        .subquery()
    )
    fractions = postgresql.array([literal(0.5), literal(0.95)])
    columns: list[ColumnElement[Any]] = []
    for key in keys:
        inside = timed.c.created >= starts[key]
        columns.append(func.percentile_cont(fractions).within_group(timed.c.seconds).filter(inside))
        columns.append(func.count().filter(inside))
        columns.extend(
            func.count().filter(and_(inside, timed.c.seconds < bound)) for bound in DURATION_BUCKETS
        )
    row = list(session.execute(select(*columns)).one())
    percentiles: dict[_K, tuple[float | None, float | None]] = {}
    width = len(DURATION_BUCKETS) + 2
    for position, key in enumerate(keys):
        pair, total, *below = row[position * width : (position + 1) * width]
        p50, p95 = pair if pair is not None else (None, None)
        percentiles[key] = (_float(p50), _float(p95))
        cumulative = [0, *(int(count) for count in below), int(total)]
        histograms[key] = [high - low for low, high in itertools.pairwise(cumulative)]
    return histograms, percentiles


@dataclass
class DayVolume:
    """One day of traffic on the city's clock."""

    day: date
    documents: int = 0
    statuses: int = 0
    deliveries: int = 0
    delivered: int = 0
    failed: int = 0


def daily_volume(session: Session, since: datetime, now: datetime) -> list[DayVolume]:
    """Packets and deliveries per local day from ``since`` to ``now`` (empty days included)."""
    return traffic(session, {"window": since}, now)[1]


# -- unacknowledged documents ------------------------------------------------------------

Missing = Literal["01", "03"]


@dataclass
class UnackedRow:
    """Documents delivered to one recipient and not answered, by age bucket."""

    recipient: str
    buckets: list[int]
    """Counts per bucket: [h0, h1), [h1, h2), …, [hn, ∞) for the configured hours."""

    @property
    def total(self) -> int:
        """Every unanswered document of the recipient past the first bound."""
        return sum(self.buckets)


def _unanswered(missing: Missing) -> ColumnElement[bool]:
    # Exactly the partial index's predicate, so PostgreSQL can use it.
    condition = or_(DocumentRecipient.status.is_(None), DocumentRecipient.status == "01")
    if missing == "01":
        return and_(condition, DocumentRecipient.status.is_(None))
    return condition


def _unanswered_join() -> ColumnElement[bool]:
    return and_(
        Delivery.packet_id == DocumentRecipient.packet_id,
        Delivery.recipient_code == DocumentRecipient.recipient_code,
    )


def unacknowledged(
    session: Session,
    *,
    now: datetime,
    hours: Sequence[float],
    horizon: datetime,
    missing: Missing = "01",
) -> list[UnackedRow]:
    """Per recipient: documents delivered at least ``hours[0]`` ago (and after ``horizon``)
    without an answer (``missing`` 01: none at all; 03: not registered), by age bucket."""
    bounds = [now - timedelta(hours=value) for value in hours]
    buckets = [
        func.sum(
            case(
                (
                    and_(
                        Delivery.delivered_at <= bounds[index],
                        *(
                            [Delivery.delivered_at > bounds[index + 1]]
                            if index + 1 < len(bounds)
                            else []
                        ),
                    ),
                    1,
                ),
                else_=0,
            )
        )
        for index in range(len(bounds))
    ]
    rows = session.execute(
        select(DocumentRecipient.recipient_code, *buckets)
        .join(Delivery, _unanswered_join())
        .where(
            _unanswered(missing),
            DocumentRecipient.created_at >= horizon,
            Delivery.state == DeliveryState.DELIVERED,
            Delivery.delivered_at <= bounds[0],
        )
        .group_by(DocumentRecipient.recipient_code)
    )
    return [UnackedRow(code, [int(count or 0) for count in counts]) for code, *counts in rows]


@dataclass(frozen=True)
class UnackedDocument:
    """One document delivered to a recipient and not answered."""

    packet_id: str
    document_id: str
    code: str | None
    subject: str | None
    sender: str
    delivered_at: datetime | None
    status: str | None


def unacknowledged_documents(
    session: Session,
    recipient: str,
    *,
    now: datetime,
    older_than_hours: float,
    younger_than_hours: float | None,
    horizon: datetime,
    missing: Missing = "01",
    offset: int = 0,
    limit: int = 50,
) -> list[UnackedDocument]:
    """The documents of one recipient's bucket, oldest delivery first."""
    query = (
        select(
            Packet.id.label("packet_id"),
            Packet.document_id,
            Packet.code,
            Packet.subject,
            Packet.sender_code.label("sender"),
            Delivery.delivered_at,
            DocumentRecipient.status,
        )
        .select_from(DocumentRecipient)
        .join(Delivery, _unanswered_join())
        .join(Packet, Packet.id == DocumentRecipient.packet_id)
        .where(
            DocumentRecipient.recipient_code == recipient,
            _unanswered(missing),
            DocumentRecipient.created_at >= horizon,
            Delivery.state == DeliveryState.DELIVERED,
            Delivery.delivered_at <= now - timedelta(hours=older_than_hours),
        )
        .order_by(Delivery.delivered_at, Packet.id)
        .offset(offset)
        .limit(limit)
    )
    if younger_than_hours is not None:
        query = query.where(Delivery.delivered_at > now - timedelta(hours=younger_than_hours))
    return [UnackedDocument(**row._asdict()) for row in session.execute(query)]


# -- documents ---------------------------------------------------------------------------


def encode_cursor(moment: datetime, key: str) -> str:
    """An opaque keyset cursor for (time, id) ordering."""
    text = f"{moment.isoformat()}|{key}"
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, id) of a cursor; None when absent or unreadable."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, _, key = base64.urlsafe_b64decode(padded).decode("utf-8").partition("|")
        parsed = datetime.fromisoformat(moment)
    except (ValueError, UnicodeDecodeError):
        return None
    if parsed.tzinfo is None or not key:
        return None
    return parsed, key


@dataclass(frozen=True)
class DocumentQuery:
    """The search form of the documents page."""

    text: str = ""
    sender: str = ""
    recipient: str = ""
    state: str = ""
    """A delivery state one of the document's deliveries is in."""
    status: str = ""
    """A business status (01…06, or ``none``) one of its recipients is at."""
    date_from: date | None = None
    date_to: date | None = None
    """Inclusive, on the city's clock."""


@dataclass(frozen=True)
class DocumentHit:
    """One document in a result list."""

    packet_id: str
    document_id: str
    code: str | None
    subject: str | None
    sender: str
    received_at: datetime
    business_type: int | None
    signature_status: str
    pdf_signed: str | None
    recipients: int
    states: dict[str, int]
    statuses: dict[str, int]


@dataclass(frozen=True)
class DocumentPage:
    """A page of documents, newest first, and the cursor of the next one."""

    hits: list[DocumentHit]
    next_cursor: str | None


def search_documents(
    session: Session, query: DocumentQuery, *, cursor: str | None = None, limit: int = 50
) -> DocumentPage:
    """Documents (edoc packets) matching every condition of ``query``, newest first."""
    statement = select(
        Packet.id.label("packet_id"),
        Packet.document_id,
        Packet.code,
        Packet.subject,
        Packet.sender_code.label("sender"),
        Packet.received_at,
        Packet.business_type,
        Packet.signature_status,
        Packet.pdf_signed,
    ).where(Packet.kind == "edoc")
    for word in search_words(query.text):
        statement = statement.where(Packet.search_text.like(like_pattern(word), escape="\\"))
    if query.sender:
        statement = statement.where(Packet.sender_code == query.sender.strip())
    delivery_conditions: list[ColumnElement[bool]] = []
    if query.recipient:
        delivery_conditions.append(Delivery.recipient_code == query.recipient.strip())
    if query.state:
        delivery_conditions.append(Delivery.state == DeliveryState(query.state))
    if delivery_conditions:
        statement = statement.where(
            exists().where(Delivery.packet_id == Packet.id, *delivery_conditions)
        )
    if query.status:
        status_condition = (
            DocumentRecipient.status.is_(None)
            if query.status == "none"
            else DocumentRecipient.status == query.status
        )
        recipient_conditions = [DocumentRecipient.packet_id == Packet.id, status_condition]
        if query.recipient:
            recipient_conditions.append(DocumentRecipient.recipient_code == query.recipient.strip())
        statement = statement.where(exists().where(*recipient_conditions))
    if query.date_from is not None:
        statement = statement.where(Packet.received_at >= _local_start(query.date_from))
    if query.date_to is not None:
        statement = statement.where(
            Packet.received_at < _local_start(query.date_to + timedelta(days=1))
        )
    position = decode_cursor(cursor)
    if position is not None:
        moment, key = position
        statement = statement.where(
            or_(Packet.received_at < moment, and_(Packet.received_at == moment, Packet.id < key))
        )
    rows = list(
        session.execute(
            statement.order_by(Packet.received_at.desc(), Packet.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [row.packet_id for row in rows]
    states: dict[str, dict[str, int]] = defaultdict(dict)
    statuses: dict[str, dict[str, int]] = defaultdict(dict)
    recipients: dict[str, int] = defaultdict(int)
    if ids:
        for packet_id, state, count in session.execute(
            select(Delivery.packet_id, Delivery.state, func.count())
            .where(Delivery.packet_id.in_(ids))
            .group_by(Delivery.packet_id, Delivery.state)
        ):
            states[packet_id][state.value] = count
            recipients[packet_id] += count
        for packet_id, status, count in session.execute(
            select(DocumentRecipient.packet_id, DocumentRecipient.status, func.count())
            .where(DocumentRecipient.packet_id.in_(ids))
            .group_by(DocumentRecipient.packet_id, DocumentRecipient.status)
        ):
            statuses[packet_id][status or "none"] = count
    hits = [
        DocumentHit(
            **row._asdict(),
            recipients=recipients.get(row.packet_id, 0),
            states=states.get(row.packet_id, {}),
            statuses=statuses.get(row.packet_id, {}),
        )
        for row in rows
    ]
    last = rows[-1] if more and rows else None
    next_cursor = encode_cursor(last.received_at, last.packet_id) if last is not None else None
    return DocumentPage(hits=hits, next_cursor=next_cursor)


def _local_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


# -- failures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptLine:
    """One attempt of a failed delivery."""

    number: int
    started_at: datetime
    outcome: str
    error: str | None
    http_status: int | None
    peer_code: str | None = None


@dataclass(frozen=True)
class FailedDelivery:
    """A parked or expired delivery with its packet and attempt history."""

    delivery_id: str
    packet_id: str
    recipient: str
    channel: str
    state: str
    attempts: int
    last_error: str | None
    since: datetime
    kind: str
    document_id: str
    code: str | None
    subject: str | None
    sender: str
    history: list[AttemptLine] = field(default_factory=list)


@dataclass(frozen=True)
class FailurePage:
    """A page of failed deliveries, newest first, with the counts per state."""

    deliveries: list[FailedDelivery]
    next_cursor: str | None
    counts: dict[str, int]


def failure_page(
    session: Session,
    state: Literal["parked", "expired"],
    *,
    recipient: str = "",
    channel: str = "",
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> FailurePage:
    """Deliveries in ``state`` matching the filters, newest first, with their attempts."""
    statement = (
        select(
            Delivery,
            Packet.kind,
            Packet.document_id,
            Packet.code,
            Packet.subject,
            Packet.sender_code,
        )
        .join(Packet, Packet.id == Delivery.packet_id)
        .where(Delivery.state == DeliveryState(state))
    )
    if recipient:
        statement = statement.where(Delivery.recipient_code == recipient.strip())
    if channel:
        statement = statement.where(Delivery.channel == channel)
    if since is not None:
        statement = statement.where(Delivery.updated_at >= since)
    position = decode_cursor(cursor)
    if position is not None:
        moment, key = position
        statement = statement.where(
            or_(
                Delivery.updated_at < moment,
                and_(Delivery.updated_at == moment, Delivery.id < key),
            )
        )
    rows = list(
        session.execute(
            statement.order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    history: dict[str, list[AttemptLine]] = defaultdict(list)
    ids = [row.Delivery.id for row in rows]
    if ids:
        for attempt in session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(ids))
            .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
        ):
            history[attempt.delivery_id].append(
                AttemptLine(
                    number=attempt.number,
                    started_at=attempt.started_at,
                    outcome=attempt.outcome,
                    error=attempt.error,
                    http_status=attempt.http_status,
                    peer_code=attempt.peer_code,
                )
            )
    counts = {
        value.value: count
        for value, count in session.execute(
            select(Delivery.state, func.count())
            .where(Delivery.state.in_([DeliveryState.PARKED, DeliveryState.EXPIRED]))
            .group_by(Delivery.state)
        )
    }
    deliveries = [
        FailedDelivery(
            delivery_id=delivery.id,
            packet_id=delivery.packet_id,
            recipient=delivery.recipient_code,
            channel=delivery.channel.value,
            state=delivery.state.value,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            since=delivery.updated_at,
            kind=kind,
            document_id=document_id,
            code=code,
            subject=subject,
            sender=sender,
            history=history.get(delivery.id, []),
        )
        for delivery, kind, document_id, code, subject, sender in rows
    ]
    last = rows[-1].Delivery if more and rows else None
    next_cursor = encode_cursor(last.updated_at, last.id) if last is not None else None
    return FailurePage(deliveries=deliveries, next_cursor=next_cursor, counts=counts)


# -- peers and the axis link -------------------------------------------------------------


@dataclass
class PeerFigures:
    """Attempts to one peer (a webhook origin, the axis, the AMQP broker, the inboxes)."""

    key: str
    channel: str
    recipients: set[str] = field(default_factory=set)
    attempts_day: int = 0
    failures_day: int = 0
    attempts_hour: int = 0
    failures_hour: int = 0
    breaker_skips_day: int = 0
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_breaker_open: datetime | None = None
    last_error: str | None = None

    @property
    def error_rate_day(self) -> float | None:
        """Failed share of the last day's attempts, in percent."""
        return 100.0 * self.failures_day / self.attempts_day if self.attempts_day else None

    @property
    def error_rate_hour(self) -> float | None:
        """Failed share of the last hour's attempts, in percent."""
        return 100.0 * self.failures_hour / self.attempts_hour if self.attempts_hour else None

    def breaker(self, threshold: int) -> str:
        """What the attempts say of the workers' breakers: ``open``, ``failing``, ``closed``
        (breakers live in each worker's memory; this is inferred, not read)."""
        if self.last_breaker_open is not None and (
            self.last_success is None or self.last_breaker_open > self.last_success
        ):
            return "open"
        if self.failures_hour >= threshold and (
            self.last_success is None
            or (self.last_failure is not None and self.last_failure > self.last_success)
        ):
            return "failing"
        return "closed"


def peer_figures(
    session: Session, now: datetime, entries: Sequence[DirectoryEntry]
) -> list[PeerFigures]:
    """Attempts of the last day and hour per peer, with their last success and failure."""
    known = {entry.code: (entry.channel, entry.peer) for entry in entries}
    day = now - timedelta(days=1)
    hour = now - timedelta(hours=1)
    # The day's attempts first (a range of their index), then each one's delivery by primary
    # key (LATERAL … LIMIT 1 keeps PostgreSQL from hashing every delivery instead).
    recent = (
        select(DeliveryAttempt.delivery_id, DeliveryAttempt.outcome, DeliveryAttempt.started_at)
        .where(DeliveryAttempt.started_at >= day)
        .cte("recent")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    by_key = select(Delivery.recipient_code, Delivery.channel).where(
        Delivery.id == recent.c.delivery_id
    )
    if _postgresql(session):
        delivery = by_key.limit(1).lateral("delivery")
        joined = select(recent, delivery).select_from(recent).join(delivery, literal(True))
    else:
        joined = select(recent, Delivery.recipient_code, Delivery.channel).join(
            Delivery, Delivery.id == recent.c.delivery_id
        )
    pairs = joined.subquery("pairs")
    rows = session.execute(
        select(
            pairs.c.recipient_code,
            pairs.c.channel,
            pairs.c.outcome,
            func.count(),
            func.sum(case((pairs.c.started_at >= hour, 1), else_=0)),
            func.max(pairs.c.started_at),
        ).group_by(pairs.c.recipient_code, pairs.c.channel, pairs.c.outcome)
    )
    peers: dict[str, PeerFigures] = {}
    for recipient, channel, outcome, count, in_hour, latest in rows:
        current_channel, current_peer = known.get(recipient, ("", ""))
        key = (
            current_peer if current_channel == channel.value else peer_label(channel, recipient, {})
        )
        peer = peers.setdefault(key, PeerFigures(key=key, channel=channel.value))
        peer.recipients.add(recipient)
        peer.attempts_day += count
        peer.attempts_hour += int(in_hour or 0)
        if outcome in _SUCCESS_OUTCOMES:
            peer.last_success = _later(peer.last_success, latest)
            continue
        peer.failures_day += count
        peer.failures_hour += int(in_hour or 0)
        if outcome == "breaker-open":
            peer.breaker_skips_day += count
            peer.last_breaker_open = _later(peer.last_breaker_open, latest)
        else:
            peer.last_failure = _later(peer.last_failure, latest)
    for peer in peers.values():
        if peer.last_failure is None:
            continue
        peer.last_error = session.scalars(
            select(DeliveryAttempt.error)
            .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
            .where(
                Delivery.recipient_code.in_(sorted(peer.recipients)),
                DeliveryAttempt.started_at == peer.last_failure,
            )
            .limit(1)
        ).first()
    return sorted(peers.values(), key=lambda p: (-(p.error_rate_day or 0), p.key))


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or candidate > current else current


@dataclass(frozen=True)
class AxisLink:
    """What the console knows of the national axis link."""

    polls: list[AxisPollState]
    outbound: dict[str, int]
    """Deliveries to the axis by waiting state (queued, retrying) and failed ones."""
    rejections: list[AuditEntry]
    reconciliations: list[AxisReconciliation] = field(default_factory=list)
    """The latest comparison of each upstream's sent list with the hub's deliveries."""


def axis_link(session: Session) -> AxisLink:
    """The receive loops' last rounds, the outbound queue, the latest packets refused, the
    latest reconciliations (``lienthong axis reconcile``)."""
    polls = list(
        session.scalars(select(AxisPollState).order_by(AxisPollState.upstream, AxisPollState.kind))
    )
    for row in polls:
        session.expunge(row)
    outbound = {
        state.value: count
        for state, count in session.execute(
            select(Delivery.state, func.count())
            .where(
                Delivery.state.in_(
                    [
                        DeliveryState.QUEUED,
                        DeliveryState.RETRYING,
                        DeliveryState.PARKED,
                        DeliveryState.EXPIRED,
                    ]
                ),
                Delivery.channel == "axis",
            )
            .group_by(Delivery.state)
        )
    }
    rejections = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "axis.packet-rejected")
            .order_by(AuditEntry.id.desc())
            .limit(5)
        )
    )
    for entry in rejections:
        session.expunge(entry)
    return AxisLink(
        polls=polls,
        outbound=outbound,
        rejections=rejections,
        reconciliations=latest_reconciliations(session),
    )


# -- the audit log -----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditPage:
    """A page of audit entries, newest first."""

    entries: list[AuditEntry]
    next_before: int | None


def audit_page(
    session: Session,
    *,
    before: int | None = None,
    action: str = "",
    actor: str = "",
    limit: int = 50,
) -> AuditPage:
    """Audit entries older than ``before`` (newest first), optionally of one action or actor."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    if action:
        statement = statement.where(AuditEntry.action == action)
    if actor:
        statement = statement.where(AuditEntry.actor.like(like_pattern(actor), escape="\\"))
    rows = list(session.scalars(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        session.expunge(row)
    return AuditPage(entries=rows, next_before=rows[-1].id if more and rows else None)
