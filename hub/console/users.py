"""Console users: create, list, disable, change passwords and roles; check a sign-in.

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on sign-in when those
change). Wrong passwords (at sign-in, or as the current password when users change their
own) are counted per name and client address, and per address (:mod:`hub.console.throttle`):
ten in a row lock that name from that address for fifteen minutes, whether or not it is an
account. Every change is written to the audit log by the caller's ``actor`` in the caller's
transaction; the last active admin cannot be disabled or demoted, so the console never locks
its admins out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.auth.roles import ConsoleRole
from hub.console import throttle
from hub.db.base import utcnow
from hub.db.models import ConsoleSession, ConsoleUser
from hub.errors import ConflictError, InvalidRequestError, NotFoundError, UnauthorizedError
from hub.records import audit

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "UserInfo",
    "add_user",
    "change_own_password",
    "check_login",
    "get_user",
    "list_users",
    "set_active",
    "set_password",
    "set_role",
]

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_hasher = PasswordHasher()
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$T7pOssInNxG29v4PKdgwQw$"
    "NJGrxKlepQY7e1OGVOBGQDnmcTEttgtI4vVIhWSk+wg"
)
"""Verified against when the name is unknown, so both failures take the same time."""
_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class UserInfo:
    """What may be shown about a console user."""

    id: int
    name: str
    role: ConsoleRole
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, row: ConsoleUser) -> UserInfo:
        """The view of an ORM row."""
        return cls(
            id=row.id,
            name=row.name,
            role=row.role,
            active=row.active,
            created_at=row.created_at,
            last_login_at=row.last_login_at,
        )


def add_user(
    session: Session, name: str, role: ConsoleRole | str, password: str, *, actor: str
) -> UserInfo:
    """Create a console user.

    Raises:
        InvalidRequestError: the name, role or password is not acceptable.
        ConflictError: a user already has this name.
    """
    name = _valid_name(name)
    chosen = _valid_role(role)
    _check_password(password)
    if session.scalars(select(ConsoleUser.id).where(ConsoleUser.name == name)).first():
        raise ConflictError(f"a console user named {name!r} exists", code="user.exists")
    now = utcnow()
    row = ConsoleUser(
        name=name,
        role=chosen,
        password_hash=_hasher.hash(password),
        active=True,
        password_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="console.user-added",
        subject=f"user:{name}",
        details={"role": chosen.value},
    )
    _log.info("console.user_added", user=name, role=chosen.value, actor=actor)
    return UserInfo.of(row)


def list_users(session: Session) -> list[UserInfo]:
    """Every console user, by name."""
    return [UserInfo.of(row) for row in session.scalars(select(ConsoleUser).order_by("name"))]


def get_user(session: Session, name: str) -> ConsoleUser:
    """The user named ``name``.

    Raises:
        NotFoundError: no such user.
    """
    row = session.scalars(select(ConsoleUser).where(ConsoleUser.name == name)).one_or_none()
    if row is None:
        raise NotFoundError(f"no console user named {name!r}", code="user.not_found")
    return row


def set_active(session: Session, name: str, active: bool, *, actor: str) -> UserInfo:
    """Enable or disable a user; disabling ends the user's sessions at once.

    Raises:
        NotFoundError: no such user.
        ConflictError: this would leave no active admin.
    """
    row = get_user(session, name)
    if not active and row.role is ConsoleRole.ADMIN and row.active:
        _keep_an_admin(session, row)
    if row.active != active:
        row.active = active
        row.updated_at = utcnow()
        if active:
            throttle.forget_account(session, row.name)
        else:
            session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == row.id))
        audit.append(
            session,
            actor=actor,
            action="console.user-enabled" if active else "console.user-disabled",
            subject=f"user:{row.name}",
        )
    session.flush()
    return UserInfo.of(row)


def set_password(
    session: Session, name: str, password: str, *, actor: str, keep_session: int | None = None
) -> UserInfo:
    """Give a user a new password; the user's other sessions end.

    Raises:
        NotFoundError: no such user.
        InvalidRequestError: the password is not acceptable.
    """
    _check_password(password)
    row = get_user(session, name)
    now = utcnow()
    row.password_hash = _hasher.hash(password)
    row.password_changed_at = now
    row.updated_at = now
    throttle.forget_account(session, row.name)
    ended = delete(ConsoleSession).where(ConsoleSession.user_id == row.id)
    if keep_session is not None:
        ended = ended.where(ConsoleSession.id != keep_session)
    session.execute(ended)
    audit.append(session, actor=actor, action="console.user-password", subject=f"user:{name}")
    session.flush()
    return UserInfo.of(row)


def set_role(session: Session, name: str, role: ConsoleRole | str, *, actor: str) -> UserInfo:
    """Change a user's role.

    Raises:
        NotFoundError: no such user.
        InvalidRequestError: not a role.
        ConflictError: this would leave no active admin.
    """
    chosen = _valid_role(role)
    row = get_user(session, name)
    if row.role is ConsoleRole.ADMIN and chosen is not ConsoleRole.ADMIN and row.active:
        _keep_an_admin(session, row)
    if row.role is not chosen:
        before = row.role
        row.role = chosen
        row.updated_at = utcnow()
        audit.append(
            session,
            actor=actor,
            action="console.user-role",
            subject=f"user:{name}",
            details={"from": before.value, "to": chosen.value},
        )
    session.flush()
    return UserInfo.of(row)


def check_login(
    session: Session,
    name: str,
    password: str,
    *,
    address: str,
    now: datetime | None = None,
) -> ConsoleUser:
    """The active user whose name and password these are, signing in from ``address``;
    failures are counted and locks applied by :mod:`hub.console.throttle`.

    Raises:
        UnauthorizedError: unknown name or wrong password (``login.failed``, the same answer
            for both), ``login.locked`` / ``login.throttled`` (the same whether or not the
            name is an account), disabled account (``login.disabled``, only to the right
            password).
    """
    moment = now or utcnow()
    throttle.check(session, name, address, moment)
    row = session.scalars(select(ConsoleUser).where(ConsoleUser.name == name.strip())).one_or_none()
    if row is None or len(password) > MAX_PASSWORD_LENGTH:
        _verify(_DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
        _failed(session, name, address, moment, row)
        raise UnauthorizedError("wrong user name or password", code="login.failed")
    if not _verify(row.password_hash, password):
        _failed(session, name, address, moment, row)
        raise UnauthorizedError("wrong user name or password", code="login.failed")
    if not row.active:
        raise UnauthorizedError("this account is disabled", code="login.disabled")
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    throttle.succeeded(session, name, address)
    row.last_login_at = moment
    session.flush()
    return row


def change_own_password(
    session: Session,
    user_id: int,
    current: str,
    new: str,
    *,
    actor: str,
    address: str,
    now: datetime | None = None,
) -> ConsoleUser:
    """Signed-in users' own new password, given their current one; all their sessions end.

    The new password passes the same rules as :func:`set_password` (checked first, so a
    typo there costs no failure); a wrong current password counts as a failed sign-in of the
    user's name from ``address``. The caller starts the user's next session in the same
    transaction.

    Raises:
        InvalidRequestError: the new password is not acceptable.
        UnauthorizedError: the current password is wrong (``password.wrong``), the name is
            locked from this address (``login.locked``, ``login.throttled``), or the account
            is disabled or gone (``login.disabled``).
    """
    _check_password(new)
    moment = now or utcnow()
    row = session.get(ConsoleUser, user_id)
    if row is None or not row.active:
        raise UnauthorizedError("this account is disabled", code="login.disabled")
    throttle.check(session, row.name, address, moment)
    if len(current) > MAX_PASSWORD_LENGTH or not _verify(row.password_hash, current):
        _failed(session, row.name, address, moment, row)
        raise UnauthorizedError("the current password is wrong", code="password.wrong")
    set_password(session, row.name, new, actor=actor)
    return row


def _failed(
    session: Session, name: str, address: str, moment: datetime, row: ConsoleUser | None
) -> None:
    """Count a wrong password; a lock of a real account is audited (the log of a lock of any
    name is the throttle's concern, and the caller's answer is the same)."""
    if throttle.count_failure(session, name, address, moment) and row is not None:
        audit.append(
            session,
            actor="console",
            action="console.user-locked",
            subject=f"user:{row.name}",
            reason=(
                f"{throttle.PAIR_LIMIT} wrong passwords in a row from one address; locked "
                f"from it for {throttle.LOCK_MINUTES} minutes"
            ),
            details={"address": address},
            at=moment,
        )
    session.flush()


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _keep_an_admin(session: Session, leaving: ConsoleUser) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(ConsoleUser)
        .where(
            ConsoleUser.role == ConsoleRole.ADMIN,
            ConsoleUser.active.is_(True),
            ConsoleUser.id != leaving.id,
        )
    )
    if not others:
        raise ConflictError(
            f"{leaving.name} is the last active admin; make another admin first",
            code="user.last-admin",
        )


def _valid_name(name: str) -> str:
    cleaned = name.strip()
    if not _NAME.match(cleaned):
        raise InvalidRequestError(
            "a user name has 1 to 64 characters: letters, digits, '.', '_', '@' or '-', "
            f"starting with a letter or digit; not {name!r}",
            code="user.bad-name",
        )
    return cleaned


def _valid_role(role: ConsoleRole | str) -> ConsoleRole:
    try:
        return ConsoleRole(role)
    except ValueError:
        roles = ", ".join(member.value for member in ConsoleRole)
        raise InvalidRequestError(
            f"not a console role: {role!r} (one of {roles})", code="user.bad-role"
        ) from None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequestError(
            f"a password has at least {MIN_PASSWORD_LENGTH} characters",
            code="user.weak-password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidRequestError(
            f"a password has at most {MAX_PASSWORD_LENGTH} characters",
            code="user.long-password",
        )
