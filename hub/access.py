"""Who is calling: agencies (by their API tokens) and operators (by operator tokens).

Agencies post packets and read what concerns them; operators read everything and replay
deliveries. Operator tokens work like agency tokens (256 random bits, shown once, stored as
SHA-256 digests, several active at once for rotation) but carry their own prefix, so a bearer
token says by itself which table it belongs to. User accounts with roles (the web console)
will sit on top of this; until then an operator is a name with tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.channels import Channel
from hub.db.base import utcnow
from hub.db.models import OperatorToken
from hub.directory import AgencyInfo
from hub.errors import ConfigurationError, NotFoundError, UnauthorizedError
from hub.tokens import TOKEN_PREFIX, authenticate, hash_token

__all__ = [
    "OPERATOR_TOKEN_PREFIX",
    "AuthenticatedAgency",
    "AuthenticatedOperator",
    "Caller",
    "IssuedOperatorToken",
    "OperatorTokenInfo",
    "authenticate_bearer",
    "issue_operator_token",
    "list_operator_tokens",
    "revoke_operator_token",
]

OPERATOR_TOKEN_PREFIX = "lto_"  # noqa: S105 (a public marker, not a secret)
"""Start of every operator token (agency tokens start with ``lt_``)."""

_SECRET_BYTES = 32
_SHOWN_CHARS = 11
_MAX_TOKEN_LENGTH = 128
_OPERATOR_NAME_LENGTH = 64


@dataclass(frozen=True)
class AuthenticatedAgency:
    """An agency whose token was accepted: it acts for itself and those it may send for."""

    code: str
    name: str
    peer_hub: bool = False
    """The caller is another lienthong hub (its directory entry is on the ``hub`` channel)."""

    @classmethod
    def of(cls, agency: AgencyInfo) -> AuthenticatedAgency:
        """The caller behind a directory entry."""
        return cls(code=agency.code, name=agency.name, peer_hub=agency.channel is Channel.HUB)

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"agency:{self.code}"


@dataclass(frozen=True)
class AuthenticatedOperator:
    """A hub operator whose token was accepted."""

    name: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"operator:{self.name}"


Caller = AuthenticatedAgency | AuthenticatedOperator


@dataclass(frozen=True)
class IssuedOperatorToken:
    """A new operator token; ``token`` is the only copy of the secret."""

    id: int
    operator: str
    label: str
    token: str

    def __repr__(self) -> str:
        return f"IssuedOperatorToken(id={self.id}, operator={self.operator!r}, token=<hidden>)"


@dataclass(frozen=True)
class OperatorTokenInfo:
    """What may be shown about a stored operator token."""

    id: int
    operator: str
    label: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the token still authenticates."""
        return self.revoked_at is None


def authenticate_bearer(session: Session, token: str) -> Caller:
    """The agency or operator a bearer token belongs to.

    Raises:
        UnauthorizedError: the token is malformed, unknown or revoked, or its agency inactive.
    """
    if token.startswith(OPERATOR_TOKEN_PREFIX):
        return _authenticate_operator(session, token)
    if token.startswith(TOKEN_PREFIX):
        return AuthenticatedAgency.of(authenticate(session, token))
    raise UnauthorizedError(
        f"not a lienthong token: agency tokens start with {TOKEN_PREFIX!r}, "
        f"operator tokens with {OPERATOR_TOKEN_PREFIX!r}",
        code="token.malformed",
    )


def issue_operator_token(session: Session, operator: str, label: str = "") -> IssuedOperatorToken:
    """Create a token for an operator (named on first use) and return its secret.

    Raises:
        ConfigurationError: the name is empty or too long.
    """
    name = operator.strip()
    if not name or len(name) > _OPERATOR_NAME_LENGTH:
        raise ConfigurationError(
            f"an operator name has 1 to {_OPERATOR_NAME_LENGTH} characters, not {operator!r}"
        )
    token = OPERATOR_TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    row = OperatorToken(
        operator=name, token_hash=hash_token(token), prefix=token[:_SHOWN_CHARS], label=label
    )
    session.add(row)
    session.flush()
    return IssuedOperatorToken(id=row.id, operator=name, label=label, token=token)


def list_operator_tokens(session: Session, operator: str | None = None) -> list[OperatorTokenInfo]:
    """Every operator token (of one operator when named), revoked ones included, oldest first."""
    query = select(OperatorToken).order_by(OperatorToken.id)
    if operator is not None:
        query = query.where(OperatorToken.operator == operator)
    return [_info(row) for row in session.scalars(query)]


def revoke_operator_token(
    session: Session, token_id: int, *, now: datetime | None = None
) -> OperatorTokenInfo:
    """Revoke an operator token; revoking it again keeps the first revocation time.

    Raises:
        NotFoundError: no operator token has this id.
    """
    row = session.get(OperatorToken, token_id)
    if row is None:
        raise NotFoundError(f"no operator token {token_id}", code="token.not_found")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
    return _info(row)


def _authenticate_operator(session: Session, token: str) -> AuthenticatedOperator:
    if len(token) > _MAX_TOKEN_LENGTH:
        raise UnauthorizedError("not a lienthong token: too long", code="token.malformed")
    row = session.scalars(
        select(OperatorToken).where(OperatorToken.token_hash == hash_token(token))
    ).one_or_none()
    if row is None:
        raise UnauthorizedError("unknown token", code="token.unknown")
    if row.revoked_at is not None:
        raise UnauthorizedError(
            f"token {row.prefix}… was revoked at {row.revoked_at.isoformat()}",
            code="token.revoked",
        )
    moment = utcnow()
    if row.last_used_at is None or (moment - row.last_used_at).total_seconds() >= 60:
        row.last_used_at = moment
    return AuthenticatedOperator(name=row.operator)


def _info(row: OperatorToken) -> OperatorTokenInfo:
    return OperatorTokenInfo(
        id=row.id,
        operator=row.operator,
        label=row.label,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
