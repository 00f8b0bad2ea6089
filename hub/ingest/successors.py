"""Recipients whose codes no longer exist: sent to their successor, or refused naming them.

Routing reads the directory in force when the packet arrives (:func:`hub.directory.resolve`).
A code a dated change ended leads to the agency that carries it on: the packet's delivery
goes there, and the delivery records the code the packet named and the change (shown in the
answer and the timeline). A code with several successors, or none, or an agency not in force
yet, refuses the packet with the reason and the successors named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from edxml.compose import LOCAL_TZ
from hub.db.models import DeliveryRedirect
from hub.directory import AgencyInfo, Resolution, Succession
from hub.directory.retarget import successors_text
from hub.errors import UnroutablePacketError
from hub.tracking.timeline import RedirectView

__all__ = ["Redirect", "record_redirects", "redirects_of"]

_INSERT = insert(DeliveryRedirect.metadata.tables[DeliveryRedirect.__tablename__])


@dataclass(frozen=True)
class Redirect:
    """A code the packet named, and the agency in force that takes its delivery."""

    addressed: str
    recipient: AgencyInfo
    succession: Succession

    def view(self, at: datetime) -> RedirectView:
        """As the answer and the timeline show it."""
        change = self.succession.change
        return RedirectView(
            from_code=self.addressed,
            to_code=self.recipient.code,
            stage="ingest",
            at=at,
            change=change.key if change is not None else None,
            kind=change.kind.value if change is not None else None,
            act=change.act if change is not None else None,
            effective_at=self.succession.ended_at,
        )


def redirects_of(resolution: Resolution) -> dict[str, Redirect]:
    """The successor of each ended code of ``resolution``.

    Raises:
        UnroutablePacketError: a code has several successors or none (``packet.recipient-
            ended``), or its agency is not in force yet (``packet.recipient-not-yet``).
    """
    if resolution.pending:
        codes = list(resolution.pending)
        starts = {
            code: info.valid_from.astimezone(LOCAL_TZ).isoformat(timespec="minutes")
            for code, info in resolution.pending.items()
            if info.valid_from is not None
        }
        raise UnroutablePacketError(
            "recipient(s) "
            + ", ".join(f"{code} (from {starts.get(code, '?')})" for code in codes)
            + " do not exist yet: the directory change that creates them has not taken effect",
            code="packet.recipient-not-yet",
            element="To/OrganId",
            details={"codes": codes, "from": starts},
        )
    ended = {code: item for code, item in resolution.ended.items() if item.single is None}
    if ended:
        raise UnroutablePacketError(
            "; ".join(successors_text(item) for item in ended.values()),
            code="packet.recipient-ended",
            element="To/OrganId",
            details={
                "codes": list(ended),
                "successors": {code: list(item.codes) for code, item in ended.items()},
                "changes": {
                    code: {
                        "key": item.change.key,
                        "act": item.change.act,
                        "effective_at": item.change.effective_at.isoformat(),
                    }
                    for code, item in ended.items()
                    if item.change is not None
                },
            },
        )
    found: dict[str, Redirect] = {}
    for code, item in resolution.ended.items():
        successor = item.single
        assert successor is not None
        found[code] = Redirect(code, successor, item)
    return found


def record_redirects(
    connection: Connection,
    deliveries: Mapping[str, str],
    redirects: Sequence[Redirect],
    now: datetime,
) -> None:
    """One redirect row per code the packet named that went to its successor (``deliveries``:
    delivery id by recipient)."""
    rows = [
        {
            "delivery_id": deliveries[item.recipient.code],
            "from_code": item.addressed,
            "to_code": item.recipient.code,
            "change_id": item.succession.change.id if item.succession.change else None,
            "stage": "ingest",
            "at": now,
        }
        for item in redirects
        if item.recipient.code in deliveries
    ]
    if rows:
        connection.execute(_INSERT, rows)
