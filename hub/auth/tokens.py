"""Agency API tokens: issue, authenticate, list and revoke.

A token is 256 random bits shown once at issue; the database keeps only its SHA-256 digest
(a slow password hash adds nothing for secrets this long, and the digest is looked up by an
index). Agencies may hold several active tokens, so a token is rotated without downtime by
issuing the new one, deploying it, then revoking the old one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import Agency, AgencyLevel, AgencyToken, OperatorToken
from hub.directory import AGENCY_COLUMNS, AgencyInfo, get_agency
from hub.errors import NotFoundError, UnauthorizedError

__all__ = [
    "MAX_TOKEN_LENGTH",
    "TOKEN_PREFIX",
    "IssuedToken",
    "TokenInfo",
    "authenticate",
    "hash_token",
    "issue_token",
    "last_use_due",
    "list_tokens",
    "new_secret",
    "refuse_revoked",
    "revoke_token",
]

TOKEN_PREFIX = "lt_"  # noqa: S105 (a public marker, not a secret)
"""Start of every token, so that secret scanners and people recognise one."""

_SECRET_BYTES = 32
_SHOWN_SECRET_CHARS = 7
"""Characters of the secret kept after the prefix, so a person can tell tokens apart."""
MAX_TOKEN_LENGTH = 128
_LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is rewritten at most this often, to keep authentication read-mostly."""


@dataclass(frozen=True)
class IssuedToken:
    """A new token; ``token`` is the only copy of the secret and is never stored."""

    id: int
    owner: str
    """The agency code or the operator name the token belongs to."""
    label: str
    token: str

    def __repr__(self) -> str:
        return f"IssuedToken(id={self.id}, owner={self.owner!r}, token=<hidden>)"


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a stored token (an agency's or an operator's)."""

    id: int
    owner: str
    label: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the token still authenticates."""
        return self.revoked_at is None

    @classmethod
    def of(cls, row: AgencyToken | OperatorToken) -> TokenInfo:
        """The view of a stored token of either kind."""
        return cls(
            id=row.id,
            owner=row.agency_code if isinstance(row, AgencyToken) else row.operator,
            label=row.label,
            prefix=row.prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


def hash_token(token: str) -> str:
    """The hex SHA-256 digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_secret(prefix: str) -> tuple[str, str, str]:
    """A new token with ``prefix``: the secret, its stored digest and the part shown later."""
    token = prefix + secrets.token_urlsafe(_SECRET_BYTES)
    return token, hash_token(token), token[: len(prefix) + _SHOWN_SECRET_CHARS]


def refuse_revoked(prefix: str, revoked_at: datetime | None) -> None:
    """Raise when a stored token was revoked.

    Raises:
        UnauthorizedError: it was.
    """
    if revoked_at is not None:
        raise UnauthorizedError(
            f"token {prefix}… was revoked at {revoked_at.isoformat()}", code="token.revoked"
        )


def last_use_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether ``last_used_at`` is old enough to be rewritten (kept read-mostly)."""
    return last_used_at is None or now - last_used_at >= _LAST_USED_RESOLUTION


def issue_token(session: Session, agency_code: str, label: str = "") -> IssuedToken:
    """Create a token for an agency and return its secret, which cannot be shown again.

    Raises:
        NotFoundError: no agency has this code.
    """
    get_agency(session, agency_code)
    token, digest, shown = new_secret(TOKEN_PREFIX)
    row = AgencyToken(agency_code=agency_code, token_hash=digest, prefix=shown, label=label)
    session.add(row)
    session.flush()
    return IssuedToken(id=row.id, owner=agency_code, label=label, token=token)


def authenticate(session: Session, token: str, *, now: datetime | None = None) -> AgencyInfo:
    """The agency a token belongs to; records when the token was last used.

    Raises:
        UnauthorizedError: the token is malformed, unknown, revoked, or its agency is inactive.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise UnauthorizedError(
            f"not a lienthong token: tokens start with {TOKEN_PREFIX!r}",
            code="token.malformed",
        )
    found = session.execute(
        select(
            AgencyToken.id.label("token_id"),
            AgencyToken.prefix,
            AgencyToken.revoked_at,
            AgencyToken.last_used_at,
            AgencyToken.agency_code,
            *AGENCY_COLUMNS,
        )
        .outerjoin(Agency, Agency.code == AgencyToken.agency_code)
        .outerjoin(AgencyLevel, AgencyLevel.level == Agency.level)
        .where(AgencyToken.token_hash == hash_token(token))
    ).one_or_none()
    if found is None:
        raise UnauthorizedError("unknown token", code="token.unknown")
    refuse_revoked(found.prefix, found.revoked_at)
    if found.code is None or not found.active:
        raise UnauthorizedError(
            f"agency {found.agency_code} is not active in the directory",
            code="agency.inactive",
        )
    moment = now or utcnow()
    if last_use_due(found.last_used_at, moment):
        session.execute(
            update(AgencyToken).where(AgencyToken.id == found.token_id).values(last_used_at=moment)
        )
    return AgencyInfo.from_row(found)


def list_tokens(session: Session, agency_code: str) -> list[TokenInfo]:
    """Every token of an agency, revoked ones included, oldest first.

    Raises:
        NotFoundError: no agency has this code.
    """
    get_agency(session, agency_code)
    rows = session.scalars(
        select(AgencyToken).where(AgencyToken.agency_code == agency_code).order_by(AgencyToken.id)
    )
    return [TokenInfo.of(row) for row in rows]


def revoke_token(
    session: Session, agency_code: str, token_id: int, *, now: datetime | None = None
) -> TokenInfo:
    """Revoke one token of an agency; revoking it again keeps the first revocation time.

    Raises:
        NotFoundError: the agency has no token with this id.
    """
    row = session.get(AgencyToken, token_id)
    if row is None or row.agency_code != agency_code:
        raise NotFoundError(f"agency {agency_code} has no token {token_id}", code="token.not_found")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
    return TokenInfo.of(row)
