"""An agency as the rest of the hub sees it, read with plain columns on the hot paths."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from hub.channels import Channel
from hub.db.models import Agency, AgencyLevel

__all__ = ["AGENCY_COLUMNS", "AgencyInfo"]


AGENCY_COLUMNS = (
    Agency.code,
    Agency.name,
    Agency.level,
    AgencyLevel.name.label("level_name"),
    Agency.parent_code,
    Agency.channel,
    Agency.channel_settings,
    Agency.active,
    Agency.illustrative,
    Agency.valid_from,
    Agency.valid_until,
)
"""The columns of an :class:`AgencyInfo` (agencies joined to their level), for the hot paths
(routing, token checks) where building mapped ``Agency`` objects cost more than the query."""


@dataclass(frozen=True)
class AgencyInfo:
    """An agency as the rest of the hub sees it."""

    code: str
    name: str
    level: int
    level_name: str
    parent_code: str | None
    channel: Channel
    channel_settings: Mapping[str, Any]
    active: bool
    illustrative: bool
    valid_from: datetime | None = None
    """When a directory change brought it into being (None: before the history)."""
    valid_until: datetime | None = None
    """When a directory change ended it (None: it exists)."""

    def in_force(self, moment: datetime) -> bool:
        """Whether it exists at ``moment`` (created, not yet ended)."""
        return (self.valid_from is None or self.valid_from <= moment) and not self.ended_by(moment)

    def ended_by(self, moment: datetime) -> bool:
        """Whether a change ended it at or before ``moment``."""
        return self.valid_until is not None and self.valid_until <= moment

    @classmethod
    def from_row(cls, row: Row[Any]) -> AgencyInfo:
        """The view of a row selected with :data:`AGENCY_COLUMNS`."""
        return cls(
            code=row.code,
            name=row.name,
            level=row.level,
            level_name=row.level_name,
            parent_code=row.parent_code,
            channel=row.channel,
            channel_settings=dict(row.channel_settings or {}),
            active=row.active,
            illustrative=row.illustrative,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
        )

    @classmethod
    def of(cls, agency: Agency) -> AgencyInfo:
        """The view of an ORM row."""
        return cls(
            code=agency.code,
            name=agency.name,
            level=agency.level,
            level_name=agency.level_row.name,
            parent_code=agency.parent_code,
            channel=agency.channel,
            channel_settings=dict(agency.channel_settings),
            active=agency.active,
            illustrative=agency.illustrative,
            valid_from=agency.valid_from,
            valid_until=agency.valid_until,
        )
