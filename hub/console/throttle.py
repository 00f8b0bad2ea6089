"""Sign-in throttling: failures lock a (name, client address) pair, and throttle an address.

A lock per account would let anyone lock any account, admins included, from anywhere, and
its answer would tell which names exist. Here failures are counted per **name typed and
client address**, whether or not the name is an account: ten in a row within fifteen minutes
lock that name *from that address* for fifteen minutes, so the account's owner still signs
in from elsewhere, and a name that does not exist locks just the same. Failures are also
counted per **address**, across names: fifty within fifteen minutes throttle the address
for fifteen minutes, so one client cannot try a few passwords on every name.

Nothing is kept in clear: rows are keyed by SHA-256 digests of the name and the address.
Every function runs in the caller's transaction.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.db.models import SignInFailures
from hub.errors import UnauthorizedError

__all__ = [
    "ADDRESS_LIMIT",
    "LOCK_MINUTES",
    "PAIR_LIMIT",
    "check",
    "count_failure",
    "forget_account",
    "purge",
    "succeeded",
]

PAIR_LIMIT = 10
"""Failures of one name from one address that lock the pair."""
ADDRESS_LIMIT = 50
"""Failures from one address, whatever the names, that throttle the address."""
LOCK_MINUTES = 15
"""How long a lock lasts, and the window failures are counted in."""

_WINDOW = timedelta(minutes=LOCK_MINUTES)
_log = structlog.get_logger(__name__)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "backslashreplace")).hexdigest()


def _account(name: str) -> str:
    return _digest("account", name.strip())


def _pair_key(name: str, address: str) -> str:
    return _digest("pair", name.strip(), address)


def _address_key(address: str) -> str:
    return _digest("address", address)


def check(session: Session, name: str, address: str, now: datetime) -> None:
    """Refuse a sign-in (or a current-password check) while its address or pair is locked.

    Raises:
        UnauthorizedError: ``login.throttled`` (the address), ``login.locked`` (this name
            from this address); neither says whether the name is an account.
    """
    rows = {
        row.key: row
        for row in session.scalars(
            select(SignInFailures).where(
                SignInFailures.key.in_([_address_key(address), _pair_key(name, address)])
            )
        )
    }
    by_address = rows.get(_address_key(address))
    if by_address is not None and _locked(by_address, now):
        raise UnauthorizedError(
            "too many failed sign-ins from this address: try again later", code="login.throttled"
        )
    pair = rows.get(_pair_key(name, address))
    if pair is not None and _locked(pair, now):
        raise UnauthorizedError(
            "too many failed sign-ins with this name from this address: try again later",
            code="login.locked",
        )


def count_failure(session: Session, name: str, address: str, now: datetime) -> bool:
    """Count one failure of ``name`` from ``address``; whether it locked the pair."""
    locked = _count(session, _pair_key(name, address), _account(name), PAIR_LIMIT, now)
    if _count(session, _address_key(address), None, ADDRESS_LIMIT, now):
        _log.warning("console.address_throttled", address=address, minutes=LOCK_MINUTES)
    return locked


def succeeded(session: Session, name: str, address: str) -> None:
    """A sign-in succeeded: the pair's failures are forgotten (the address's are not, or one
    account of its own would let a client reset its throttle)."""
    session.execute(delete(SignInFailures).where(SignInFailures.key == _pair_key(name, address)))


def forget_account(session: Session, name: str) -> None:
    """An administrator reset the account: its locks from every address end."""
    session.execute(delete(SignInFailures).where(SignInFailures.account == _account(name)))


def purge(session: Session, now: datetime) -> int:
    """Delete counts whose window and lock have both passed; how many went."""
    result = session.execute(
        delete(SignInFailures).where(
            SignInFailures.window_start <= now - _WINDOW,
            or_(SignInFailures.locked_until.is_(None), SignInFailures.locked_until <= now),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _locked(row: SignInFailures, now: datetime) -> bool:
    return row.locked_until is not None and row.locked_until > now


def _count(session: Session, key: str, account: str | None, limit: int, now: datetime) -> bool:
    """One more failure on ``key`` (the row made if need be, concurrent sign-ins safe)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(SignInFailures)
        .values(key=key, account=account, failures=0, window_start=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = session.scalars(
        select(SignInFailures)
        .where(SignInFailures.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if row.window_start <= now - _WINDOW:
        row.failures = 0
        row.window_start = now
    row.failures += 1
    if row.failures < limit:
        session.flush()
        return False
    row.failures = 0
    row.window_start = now
    row.locked_until = now + _WINDOW
    session.flush()
    return True
