"""The hub's tables as typed ORM classes; this metadata is the target of every migration.

The directory: administrative levels, agencies with their delivery channel, the API tokens
agencies authenticate with (stored as SHA-256 digests only) and the delegations that let one
agency send on behalf of another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.channels import Channel
from hub.db.base import Base, TimestampMixin, UTCDateTime, utcnow

__all__ = [
    "AGENCY_CODE_LENGTH",
    "Agency",
    "AgencyDelegation",
    "AgencyLevel",
    "AgencyToken",
    "Base",
]

AGENCY_CODE_LENGTH = 64
"""Longest agency code the directory stores (Decision 20/2020 allows 35 characters)."""


class AgencyLevel(TimestampMixin, Base):
    """An administrative level (central, city, district, commune, ...), as given by the data."""

    __tablename__ = "agency_levels"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    """Rank of the level: 1 is the top; deeper levels have larger numbers."""
    name: Mapped[str] = mapped_column(String(100))
    """Display name, e.g. ``Trung ương`` or ``Xã, phường``."""


class Agency(TimestampMixin, Base):
    """An agency the hub can route to, with the channel its documents leave by."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(AGENCY_CODE_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[int] = mapped_column(ForeignKey("agency_levels.level"), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("agencies.code"), index=True, default=None
    )
    channel: Mapped[Channel] = mapped_column(
        Enum(
            Channel,
            name="channel",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        )
    )
    channel_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    """True when the code or the agency was invented for a sample or a test city."""

    level_row: Mapped[AgencyLevel] = relationship(lazy="joined", innerjoin=True)


class AgencyToken(Base):
    """An API token of an agency; only its SHA-256 digest is stored.

    Several tokens may be active at once, so a token is rotated by issuing the new one,
    deploying it, then revoking the old one.
    """

    __tablename__ = "agency_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_code: Mapped[str] = mapped_column(
        ForeignKey("agencies.code", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the whole token."""
    prefix: Mapped[str] = mapped_column(String(16))
    """The token's first characters, so operators can tell tokens apart."""
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AgencyDelegation(Base):
    """Permission for ``delegate_code`` to send packets whose ``From`` is ``principal_code``."""

    __tablename__ = "agency_delegations"

    delegate_code: Mapped[str] = mapped_column(
        ForeignKey("agencies.code", ondelete="CASCADE"), primary_key=True
    )
    principal_code: Mapped[str] = mapped_column(
        ForeignKey("agencies.code", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
