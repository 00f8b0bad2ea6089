"""Who is calling: agencies (by their API tokens) and operators (by operator tokens).

Agencies post packets and read what concerns them; operators read everything and replay
deliveries. Operator tokens work like agency tokens (256 random bits, shown once, stored as
SHA-256 digests, several active at once for rotation) but carry their own prefix, so a bearer
token says by itself which table it belongs to. User accounts with roles (the web console)
will sit on top of this; until then an operator is a name with tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.auth.tokens import (
    MAX_TOKEN_LENGTH,
    TOKEN_PREFIX,
    IssuedToken,
    TokenInfo,
    authenticate,
    hash_token,
    last_use_due,
    new_secret,
    refuse_revoked,
)
from hub.channels import Channel
from hub.db.base import utcnow
from hub.db.models import OperatorToken
from hub.directory import AgencyInfo
from hub.errors import ConfigurationError, NotFoundError, UnauthorizedError

__all__ = [
    "OPERATOR_TOKEN_PREFIX",
    "AuthenticatedAgency",
    "AuthenticatedOperator",
    "Caller",
    "authenticate_bearer",
    "issue_operator_token",
    "list_operator_tokens",
    "revoke_operator_token",
]

OPERATOR_TOKEN_PREFIX = "lto_"  # noqa: S105 (a public marker, not a secret)
"""Start of every operator token (agency tokens start with ``lt_``)."""

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


def issue_operator_token(session: Session, operator: str, label: str = "") -> IssuedToken:
    """Create a token for an operator (named on first use) and return its secret.

    Raises:
        ConfigurationError: the name is empty or too long.
    """
    name = operator.strip()
    if not name or len(name) > _OPERATOR_NAME_LENGTH:
        raise ConfigurationError(
            f"an operator name has 1 to {_OPERATOR_NAME_LENGTH} characters, not {operator!r}"
        )
    token, digest, shown = new_secret(OPERATOR_TOKEN_PREFIX)
    row = OperatorToken(operator=name, token_hash=digest, prefix=shown, label=label)
    session.add(row)
    session.flush()
    return IssuedToken(id=row.id, owner=name, label=label, token=token)


def list_operator_tokens(session: Session, operator: str | None = None) -> list[TokenInfo]:
    """Every operator token (of one operator when named), revoked ones included, oldest first."""
    query = select(OperatorToken).order_by(OperatorToken.id)
    if operator is not None:
        query = query.where(OperatorToken.operator == operator)
    return [TokenInfo.of(row) for row in session.scalars(query)]


def revoke_operator_token(
    session: Session, token_id: int, *, now: datetime | None = None
) -> TokenInfo:
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
    return TokenInfo.of(row)


def _authenticate_operator(session: Session, token: str) -> AuthenticatedOperator:
    if len(token) > MAX_TOKEN_LENGTH:
        raise UnauthorizedError("not a lienthong token: too long", code="token.malformed")
    row = session.scalars(
        select(OperatorToken).where(OperatorToken.token_hash == hash_token(token))
    ).one_or_none()
    if row is None:
        raise UnauthorizedError("unknown token", code="token.unknown")
    refuse_revoked(row.prefix, row.revoked_at)
    moment = utcnow()
    if last_use_due(row.last_used_at, moment):
        row.last_used_at = moment
    return AuthenticatedOperator(name=row.operator)
