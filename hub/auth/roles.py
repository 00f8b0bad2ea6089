"""The roles of console users: what each may do, each role everything the ones before it may."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ConsoleRole"]


class ConsoleRole(StrEnum):
    """What a console user may do; each role may do everything the ones before it may."""

    VIEWER = "viewer"
    """Statistics, documents' metadata and timelines, the audit log."""
    OPERATOR = "operator"
    """And replays of parked or expired deliveries, packet and attachment downloads."""
    ADMIN = "admin"
    """And console users and the directory."""
