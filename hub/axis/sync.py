"""The agencies behind the national axis, copied into the directory (``directory sync-axis``).

The axis's agency list (``getAgenciesList``) becomes directory agencies on channel ``axis``,
so the city's agencies can address them and routing refuses mistyped codes. It is an upsert,
and importing the same list again changes nothing:

- a code the directory does not hold is created: channel ``axis``, ``illustrative: false``,
  active, the axis's name (the code when it gives none), and a parent when the axis names one
  the directory holds, or else the nearest QCVN ancestor it holds;
- an agency already on channel ``axis`` gets the axis's name and ``illustrative: false``; its
  level, parent, settings and ``active`` flag stay as the operators left them;
- an agency of the city (any other channel) is never touched, and codes of the city's own
  province (the QCVN root of ``LIENTHONG_AXIS_ORGAN_ID``, e.g. ``H26``) are left to the local
  directory, so a packet for a local code never goes out to the axis;
- agencies the axis no longer lists are left alone.

Levels (the public record gives none): a QCVN code's depth counts from the central level for
ministries and government bodies (root letter ``G``) and from the provincial level for every
other root (``H`` People's Committees, ``K`` People's Councils, …): ``000.00.00.G22`` is at
the central level, ``000.00.00.H17`` at the provincial level, ``000.00.12.H17`` one below.
Codes of another shape go to a default level (central). The three are options of the command
(defaults 1, 2 and 1, as in the Hà Nội sample). A level the directory does not declare is
replaced by the deepest declared level above it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

import edxml
from hub.axis.models import AxisAgency
from hub.channels import Channel
from hub.db.models import AGENCY_CODE_LENGTH, Agency, AgencyLevel
from hub.errors import DirectoryError

__all__ = ["LevelRule", "SyncReport", "own_root", "sync_axis_agencies"]

_log = structlog.get_logger(__name__)

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""The codes the directory accepts (as in directory files)."""
_NAME_LENGTH = 255
_CENTRAL_ROOT = "G"


@dataclass(frozen=True)
class LevelRule:
    """Where agencies from the axis sit among the directory's levels."""

    central: int = 1
    """Level of a ministry or government body (QCVN root ``Gxx``)."""
    provincial: int = 2
    """Level of a province's People's Committee or Council (any other QCVN root)."""
    default: int = 1
    """Level of a code that is not in the QCVN form."""

    def level_of(self, code: str) -> int:
        """The level the rule gives ``code`` (before matching the declared levels)."""
        parsed = edxml.parse_agency_code(code)
        if not parsed.qcvn or parsed.level is None:
            return self.default
        base = self.central if parsed.root_kind == _CENTRAL_ROOT else self.provincial
        return base + parsed.level - 1


@dataclass(frozen=True)
class SyncReport:
    """What a sync changed, by agency code."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    local: tuple[str, ...]
    """Agencies of the city (not on channel axis, or of its own province): left alone."""
    invalid: tuple[str, ...]
    """Codes the directory cannot hold (characters, length): skipped."""

    @property
    def changed(self) -> bool:
        """Whether the sync wrote anything."""
        return bool(self.created or self.updated)


def own_root(organ_id: str) -> str | None:
    """The QCVN root (``H26``) of the city's root agency code, if it has the QCVN form."""
    if not organ_id.strip():
        return None
    return edxml.parse_agency_code(organ_id).root


def sync_axis_agencies(
    session: Session,
    agencies: Sequence[AxisAgency],
    *,
    rule: LevelRule | None = None,
    city_root: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> SyncReport:
    """Create or update the axis's agencies as ``axis`` agencies (see the module docstring).

    ``settings`` are the channel settings of agencies created (e.g. ``{"system": "vxp"}``).

    Raises:
        DirectoryError: the directory declares no level at all (import the city first).
    """
    rule = rule or LevelRule()
    levels = sorted(session.scalars(select(AgencyLevel.level)))
    if not levels:
        raise DirectoryError(
            "the directory declares no level yet: import the city's directory first "
            "(`lienthong directory import`), then sync the axis's agencies"
        )
    listed: dict[str, AxisAgency] = {}
    invalid: list[str] = []
    for agency in agencies:
        code = agency.code.strip()
        if len(code) > AGENCY_CODE_LENGTH or not _CODE.fullmatch(code):
            invalid.append(code)
        else:
            listed.setdefault(code, agency)
    stored = {row.code: row for row in session.scalars(select(Agency))}
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    local: list[str] = []
    parents: dict[str, str] = {}
    for code, agency in listed.items():
        row = stored.get(code)
        name = (agency.name or "").strip()[:_NAME_LENGTH]
        if (row is not None and row.channel is not Channel.AXIS) or (
            row is None and city_root is not None and own_root(code) == city_root
        ):
            local.append(code)
            continue
        if row is None:
            session.add(
                Agency(
                    code=code,
                    name=name or code,
                    level=_declared(rule.level_of(code), levels),
                    parent_code=None,
                    channel=Channel.AXIS,
                    channel_settings=dict(settings or {}),
                    active=True,
                    illustrative=False,
                )
            )
            created.append(code)
        elif _refresh(row, name):
            updated.append(code)
        else:
            unchanged.append(code)
    session.flush()
    known = set(stored) | set(created)
    for code in created:
        parent = _parent(code, listed[code].parent_code, known)
        if parent is not None:
            parents[code] = parent
    lineage = {code: row.parent_code for code, row in stored.items()}
    for code, parent in parents.items():
        if not _cycle(code, parent, {**lineage, **parents}):
            row = session.get(Agency, code)
            if row is not None:
                row.parent_code = parent
    session.flush()
    _log.info(
        "directory.axis_synced",
        listed=len(agencies),
        created=len(created),
        updated=len(updated),
        unchanged=len(unchanged),
        local=len(local),
        invalid=len(invalid),
    )
    return SyncReport(
        created=tuple(created),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        local=tuple(local),
        invalid=tuple(invalid),
    )


def _declared(wanted: int, levels: Sequence[int]) -> int:
    """``wanted`` if declared, else the deepest declared level above it (or the top one)."""
    above = [level for level in levels if level <= wanted]
    return above[-1] if above else levels[0]


def _refresh(row: Agency, name: str) -> bool:
    changed = False
    if name and row.name != name:
        row.name = name
        changed = True
    if row.illustrative:
        row.illustrative = False
        changed = True
    return changed


def _parent(code: str, named: str | None, known: set[str]) -> str | None:
    """The parent the axis names, or the nearest QCVN ancestor, if the directory holds it."""
    candidates = [named.strip()] if named and named.strip() else []
    candidates += reversed(edxml.parse_agency_code(code).ancestors)
    return next((c for c in candidates if c != code and c in known), None)


def _cycle(code: str, parent: str, lineage: Mapping[str, str | None]) -> bool:
    seen = {code}
    current: str | None = parent
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = lineage.get(current)
    return False
