"""What the national axis says it carried for the hub, against the hub's own records.

The axis lists, for each packet the hub's system sent (``getSentEdocList``), each receiving
code and how far the receiver got. The hub keeps, on each delivery it handed to the axis, the
transaction id (``DocId``) the axis answered (``external_ref``). :func:`compare` matches the
two on (DocId, receiving code) and finds:

- **matched** receivers, counted by the state the axis reports (``done``, ``pending``,
  ``processing``, ``fail``…): a ``fail`` or a long ``pending`` is a document the receiver did
  not take, though the hub counts it delivered;
- **unknown** ones: listed by the axis, no delivery of the hub has that DocId — a packet the
  axis took twice (a send whose answer was lost is sent again: the one known duplicate of the
  outbound path), or sent by another client of the same system;
- **missing** ones: deliveries handed over within the window that the axis does not list —
  lost by the axis, or older than the history it lists. The window therefore starts at the
  latest of ``now - days`` and the oldest ``sentTime`` the axis listed, so a short history
  does not read as losses.

:func:`reconcile` writes each comparison to ``axis_reconciliations`` (``lienthong axis
reconcile``); the console's peers page shows the latest per upstream.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.axis.models import SentItem
from hub.axis.outbound import CLAIM_PREFIX
from hub.channels import Channel
from hub.db.models import AGENCY_CODE_LENGTH, AxisReconciliation, Delivery, DeliveryState

__all__ = [
    "AXIS_TZ",
    "SAMPLE_SIZE",
    "HandedOver",
    "Reconciliation",
    "compare",
    "handed_over",
    "latest_reconciliations",
    "reconcile",
    "window_start",
]

AXIS_TZ = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
"""The clock of the axis's ``sentTime``: Vietnamese local time."""
SAMPLE_SIZE = 20
"""Unknown and missing receivers kept on the record, each."""
_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S")


@dataclass(frozen=True)
class HandedOver:
    """A delivery the hub handed to the axis: its DocId there and its receiving code."""

    delivery_id: str
    recipient: str
    doc_id: str
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class Reconciliation:
    """One comparison (see the module docstring)."""

    since: dt.datetime
    listed: int
    matched: int
    unknown: tuple[tuple[str, str], ...]
    """(DocId, receiving code) listed by the axis that no delivery of the hub has."""
    missing: tuple[HandedOver, ...]
    receive_states: dict[str, int]


def _sent_time(text: str | None) -> dt.datetime | None:
    for form in _TIME_FORMATS:
        try:
            return dt.datetime.strptime((text or "").strip(), form).replace(tzinfo=AXIS_TZ)
        except ValueError:
            continue
    return None


def window_start(listed: Sequence[SentItem], now: dt.datetime, days: float) -> dt.datetime:
    """The start of the comparison: ``days`` back, or the axis's oldest listed ``sentTime``
    when that is later (an axis listing a short history must not read as losses)."""
    start = now - dt.timedelta(days=days)
    times = [_sent_time(item.sent_time) for item in listed]
    if listed and all(moment is not None for moment in times):
        oldest = min(moment for moment in times if moment is not None)
        start = max(start, oldest)
    return start


def compare(
    listed: Sequence[SentItem], handed: Sequence[HandedOver], since: dt.datetime
) -> Reconciliation:
    """Match the axis's list with the hub's deliveries (pure; see the module docstring)."""
    hub_keys = {(item.doc_id, item.recipient) for item in handed}
    hub_doc_ids = {item.doc_id for item in handed}
    seen: set[tuple[str, str]] = set()
    matched = 0
    states: Counter[str] = Counter()
    unknown: list[tuple[str, str]] = []
    for item in listed:
        code = item.to_code or ""
        key = (item.sender_doc_id, code)
        if key in seen:
            continue
        seen.add(key)
        known = key in hub_keys if code else item.sender_doc_id in hub_doc_ids
        if known:
            matched += 1
            states[(item.receive_status or "unknown").lower()] += 1
        else:
            unknown.append(key)
    listed_ids = {doc_id for doc_id, code in seen if not code}
    missing = tuple(
        item
        for item in handed
        if (item.delivered_at is None or item.delivered_at >= since)
        and (item.doc_id, item.recipient) not in seen
        and item.doc_id not in listed_ids
    )
    return Reconciliation(
        since=since,
        listed=len(seen),
        matched=matched,
        unknown=tuple(unknown),
        missing=missing,
        receive_states=dict(sorted(states.items())),
    )


def handed_over(session: Session, since: dt.datetime) -> list[HandedOver]:
    """The axis deliveries the hub handed over since ``since`` (a DocId recorded), and every
    one whose DocId the axis may still list (the caller compares them all)."""
    rows = session.execute(
        select(
            Delivery.id, Delivery.recipient_code, Delivery.external_ref, Delivery.delivered_at
        ).where(
            Delivery.channel == Channel.AXIS,
            Delivery.state == DeliveryState.DELIVERED,
            Delivery.external_ref.is_not(None),
            Delivery.delivered_at >= since,
        )
    )
    return [
        HandedOver(delivery_id, recipient, ref, delivered_at)
        for delivery_id, recipient, ref, delivered_at in rows
        if ref and not ref.startswith(CLAIM_PREFIX)
    ]


def reconcile(
    session: Session,
    upstream: str,
    listed: Sequence[SentItem],
    *,
    now: dt.datetime,
    days: float,
) -> tuple[Reconciliation, AxisReconciliation]:
    """Compare the axis's list with the deliveries of the window and record the outcome.

    The hub's side is read from a margin before the window, so that a delivery the axis
    lists just inside it is matched rather than counted unknown.
    """
    since = window_start(listed, now, days)
    handed = handed_over(session, min(since, now - dt.timedelta(days=days)) - dt.timedelta(days=1))
    outcome = compare(listed, handed, since)
    row = AxisReconciliation(
        upstream=upstream[:AGENCY_CODE_LENGTH],
        checked_at=now,
        since=since,
        listed=outcome.listed,
        matched=outcome.matched,
        unknown=len(outcome.unknown),
        missing=len(outcome.missing),
        receive_states=outcome.receive_states,
        samples={
            "unknown": [list(key) for key in outcome.unknown[:SAMPLE_SIZE]],
            "missing": [
                [item.doc_id, item.recipient, item.delivery_id]
                for item in outcome.missing[:SAMPLE_SIZE]
            ],
        },
    )
    session.add(row)
    session.flush()
    return outcome, row


def latest_reconciliations(session: Session) -> list[AxisReconciliation]:
    """The latest reconciliation of each upstream, by upstream name."""
    newest = select(func.max(AxisReconciliation.id)).group_by(AxisReconciliation.upstream)
    rows = list(
        session.scalars(
            select(AxisReconciliation)
            .where(AxisReconciliation.id.in_(newest))
            .order_by(AxisReconciliation.upstream)
        )
    )
    for row in rows:
        session.expunge(row)
    return rows
