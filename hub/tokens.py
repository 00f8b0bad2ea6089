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
from hub.db.models import Agency, AgencyToken
from hub.directory import AgencyInfo, get_agency
from hub.errors import NotFoundError, UnauthorizedError

__all__ = [
    "TOKEN_PREFIX",
    "IssuedToken",
    "TokenInfo",
    "authenticate",
    "hash_token",
    "issue_token",
    "list_tokens",
    "revoke_token",
]

TOKEN_PREFIX = "lt_"  # noqa: S105 (a public marker, not a secret)
"""Start of every token, so that secret scanners and people recognise one."""

_SECRET_BYTES = 32
_SHOWN_CHARS = 10
_LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is rewritten at most this often, to keep authentication read-mostly."""


@dataclass(frozen=True)
class IssuedToken:
    """A new token; ``token`` is the only copy of the secret and is never stored."""

    id: int
    agency_code: str
    label: str
    token: str

    def __repr__(self) -> str:
        return f"IssuedToken(id={self.id}, agency_code={self.agency_code!r}, token=<hidden>)"


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a stored token."""

    id: int
    agency_code: str
    label: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the token still authenticates."""
        return self.revoked_at is None


def hash_token(token: str) -> str:
    """The hex SHA-256 digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, agency_code: str, label: str = "") -> IssuedToken:
    """Create a token for an agency and return its secret, which cannot be shown again.

    Raises:
        NotFoundError: no agency has this code.
    """
    get_agency(session, agency_code)
    token = TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    row = AgencyToken(
        agency_code=agency_code,
        token_hash=hash_token(token),
        prefix=token[:_SHOWN_CHARS],
        label=label,
    )
    session.add(row)
    session.flush()
    return IssuedToken(id=row.id, agency_code=agency_code, label=label, token=token)


def authenticate(session: Session, token: str, *, now: datetime | None = None) -> AgencyInfo:
    """The agency a token belongs to; records when the token was last used.

    Raises:
        UnauthorizedError: the token is malformed, unknown, revoked, or its agency is inactive.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        raise UnauthorizedError(
            f"not a lienthong token: tokens start with {TOKEN_PREFIX!r}",
            code="token.malformed",
        )
    found = session.execute(
        select(
            AgencyToken.id,
            AgencyToken.prefix,
            AgencyToken.revoked_at,
            AgencyToken.last_used_at,
            AgencyToken.agency_code,
            Agency,
        )
        .outerjoin(Agency, Agency.code == AgencyToken.agency_code)
        .where(AgencyToken.token_hash == hash_token(token))
    ).one_or_none()
    if found is None:
        raise UnauthorizedError("unknown token", code="token.unknown")
    token_id, prefix, revoked_at, last_used_at, agency_code, agency = found
    if revoked_at is not None:
        raise UnauthorizedError(
            f"token {prefix}… was revoked at {revoked_at.isoformat()}",
            code="token.revoked",
        )
    if agency is None or not agency.active:
        raise UnauthorizedError(
            f"agency {agency_code} is not active in the directory",
            code="agency.inactive",
        )
    moment = now or utcnow()
    if last_used_at is None or moment - last_used_at >= _LAST_USED_RESOLUTION:
        session.execute(
            update(AgencyToken).where(AgencyToken.id == token_id).values(last_used_at=moment)
        )
    return AgencyInfo.of(agency)


def list_tokens(session: Session, agency_code: str) -> list[TokenInfo]:
    """Every token of an agency, revoked ones included, oldest first.

    Raises:
        NotFoundError: no agency has this code.
    """
    get_agency(session, agency_code)
    rows = session.scalars(
        select(AgencyToken).where(AgencyToken.agency_code == agency_code).order_by(AgencyToken.id)
    )
    return [_info(row) for row in rows]


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
    return _info(row)


def _info(row: AgencyToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        agency_code=row.agency_code,
        label=row.label,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
