"""Console sessions: server-side, expiring, one CSRF synchronizer token each.

The browser holds a random 256-bit session id in an HttpOnly, SameSite=Lax cookie (Secure
when configured); the database keeps only its SHA-256, the user, the CSRF token every form
must send back, and when the session ends: after the idle time without a request or at its
absolute end, whichever comes first. The sign-in form has a session of its own (no user), so
it carries a CSRF token too; signing in replaces that session with a new one (no fixation).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.auth.roles import ConsoleRole
from hub.db.base import utcnow
from hub.db.models import ConsoleSession, ConsoleUser
from hub.settings import Settings

__all__ = [
    "ANONYMOUS_LIFETIME",
    "LANGUAGE_COOKIE",
    "ROLE_RANK",
    "SESSION_COOKIE",
    "Identity",
    "Lookup",
    "SessionPolicy",
    "end_session",
    "find_session",
    "may",
    "purge_expired",
    "start_session",
    "token_digest",
]

SESSION_COOKIE = "lienthong_console"
LANGUAGE_COOKIE = "lienthong_lang"
ANONYMOUS_LIFETIME = timedelta(hours=1)
"""How long a sign-in form stays usable."""
_TOUCH_EVERY = timedelta(seconds=60)
"""``last_seen_at`` is written at most this often (a write per page view is too many)."""

ROLE_RANK = {ConsoleRole.VIEWER: 0, ConsoleRole.OPERATOR: 1, ConsoleRole.ADMIN: 2}


def may(role: ConsoleRole | None, needed: ConsoleRole) -> bool:
    """Whether ``role`` includes what ``needed`` may do."""
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[needed]


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last."""

    idle: timedelta
    lifetime: timedelta
    secure_cookies: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        """The ``LIENTHONG_CONSOLE_SESSION_*`` settings."""
        return cls(
            idle=timedelta(minutes=settings.console.session_idle_minutes),
            lifetime=timedelta(hours=settings.console.session_max_hours),
            secure_cookies=settings.console.secure_cookies,
        )


@dataclass(frozen=True)
class Identity:
    """The browser behind a request: its session and, once signed in, its user."""

    session_id: int
    csrf_token: str
    user_id: int | None = None
    name: str | None = None
    role: ConsoleRole | None = None

    @property
    def signed_in(self) -> bool:
        """Whether a user signed in with this session."""
        return self.user_id is not None

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"console:{self.name}"

    def may(self, needed: ConsoleRole) -> bool:
        """Whether the signed-in user's role includes ``needed``."""
        return may(self.role, needed)


class Lookup(Enum):
    """Why a session cookie does not lead to a session."""

    MISSING = "missing"
    EXPIRED = "expired"


def token_digest(token: str) -> str:
    """Hex SHA-256 of a session id, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    session: Session,
    policy: SessionPolicy,
    user: ConsoleUser | None = None,
    *,
    now: datetime | None = None,
) -> tuple[str, Identity]:
    """A new session (of ``user``, or a sign-in form's); its cookie value and identity."""
    moment = now or utcnow()
    token = secrets.token_urlsafe(32)
    lifetime = policy.lifetime if user is not None else min(policy.lifetime, ANONYMOUS_LIFETIME)
    row = ConsoleSession(
        session_hash=token_digest(token),
        user_id=user.id if user is not None else None,
        csrf_token=secrets.token_urlsafe(32),
        created_at=moment,
        last_seen_at=moment,
        expires_at=moment + lifetime,
    )
    session.add(row)
    session.flush()
    return token, _identity(row, user)


def find_session(
    session: Session, policy: SessionPolicy, token: str | None, *, now: datetime | None = None
) -> Identity | Lookup:
    """The live session of a cookie value, or why there is none (an ended one is deleted)."""
    if not token or len(token) > 128:
        return Lookup.MISSING
    moment = now or utcnow()
    row = session.scalars(
        select(ConsoleSession).where(ConsoleSession.session_hash == token_digest(token))
    ).one_or_none()
    if row is None:
        return Lookup.MISSING
    user = session.get(ConsoleUser, row.user_id) if row.user_id is not None else None
    idle = policy.idle if user is not None else ANONYMOUS_LIFETIME
    ended = row.expires_at <= moment or row.last_seen_at + idle <= moment
    if ended or (row.user_id is not None and (user is None or not user.active)):
        session.delete(row)
        session.flush()
        return Lookup.EXPIRED
    if moment - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = moment
        session.flush()
    return _identity(row, user)


def end_session(session: Session, session_id: int) -> None:
    """Forget a session (sign-out)."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.id == session_id))


def purge_expired(session: Session, policy: SessionPolicy, *, now: datetime | None = None) -> int:
    """Delete sessions past their absolute end or idle too long; how many went."""
    moment = now or utcnow()
    result = session.execute(
        delete(ConsoleSession).where(
            (ConsoleSession.expires_at <= moment)
            | (ConsoleSession.last_seen_at <= moment - max(policy.idle, ANONYMOUS_LIFETIME))
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _identity(row: ConsoleSession, user: ConsoleUser | None) -> Identity:
    return Identity(
        session_id=row.id,
        csrf_token=row.csrf_token,
        user_id=user.id if user is not None else None,
        name=user.name if user is not None else None,
        role=user.role if user is not None else None,
    )
