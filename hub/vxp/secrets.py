"""VXP systems and their HMAC secrets: issue, list, rotate, revoke, and keep them encrypted.

An agency connects to the hub's VXP endpoint as one *system*: a system id (by default its
own code) and a secret, the two values an SDK is configured with. The HMAC check needs the
secret itself, so the database keeps it encrypted with the hub's Fernet keys
(``LIENTHONG_VXP_KEYS``, AES-128-CBC with an HMAC-SHA256 tag): a copy of the database alone
reveals no secret. Several secrets of a system may be active at once, so a secret is
rotated without downtime by issuing the new one, deploying it, then revoking the old one;
the keys themselves rotate by putting a new key first and re-encrypting (:func:`rekey`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import VXP_SYSTEM_ID_LENGTH, Agency, AgencyLevel, VxpSecret, VxpSystem
from hub.directory import AGENCY_COLUMNS, AgencyInfo, get_agency
from hub.errors import ConfigurationError, ConflictError, NotFoundError, StorageError

__all__ = [
    "SECRET_PREFIX",
    "IssuedSecret",
    "SecretBox",
    "SecretInfo",
    "StoredSecret",
    "SystemKeys",
    "issue_secret",
    "list_secrets",
    "new_key",
    "record_use",
    "rekey",
    "revoke_secret",
    "system_keys",
]

SECRET_PREFIX = "ltv_"  # noqa: S105 (a public marker, not a secret)
"""Start of every VXP secret the hub issues, so that secret scanners and people recognise one."""

_SECRET_BYTES = 32
_SHOWN_CHARS = 7
_SYSTEM_ID = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{VXP_SYSTEM_ID_LENGTH - 1}}}$")
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_key() -> str:
    """A new Fernet key for ``LIENTHONG_VXP_KEYS``."""
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Seals and opens VXP secrets with the hub's keys (the first seals, every one opens)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigurationError(
                "the hub has no key to keep VXP secrets with: set LIENTHONG_VXP_KEYS "
                "(`lienthong agency vxp-key` prints a new key)",
                code="vxp.no-key",
            )
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise ConfigurationError(f"LIENTHONG_VXP_KEYS: {exc}") from exc

    def seal(self, secret: str) -> str:
        """``secret`` encrypted under the first key."""
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The secret ``sealed`` holds.

        Raises:
            StorageError: no key decrypts it (a key was dropped before :func:`rekey`).
        """
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise StorageError(
                "a VXP secret cannot be decrypted with LIENTHONG_VXP_KEYS: was a key removed "
                "before `lienthong agency vxp-rekey` ran?",
                code="vxp.undecryptable",
            ) from exc

    def reseal(self, sealed: str) -> str:
        """``sealed`` encrypted again under the first key."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise StorageError(
                "a VXP secret cannot be decrypted with LIENTHONG_VXP_KEYS",
                code="vxp.undecryptable",
            ) from exc


@dataclass(frozen=True)
class IssuedSecret:
    """A new secret; ``secret`` is the only plain copy and is never stored."""

    id: int
    system_id: str
    agency_code: str
    label: str
    secret: str

    def __repr__(self) -> str:
        return f"IssuedSecret(id={self.id}, system_id={self.system_id!r}, secret=<hidden>)"


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown about a stored secret."""

    id: int
    system_id: str
    prefix: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the secret still authenticates."""
        return self.revoked_at is None

    @classmethod
    def of(cls, row: VxpSecret) -> SecretInfo:
        """The view of a stored row."""
        return cls(
            id=row.id,
            system_id=row.system_id,
            prefix=row.prefix,
            label=row.label,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


@dataclass(frozen=True)
class StoredSecret:
    """A system's secret, decrypted for one check."""

    id: int
    secret: str
    last_used_at: datetime | None
    revoked_at: datetime | None

    def __repr__(self) -> str:
        return f"StoredSecret(id={self.id}, secret=<hidden>)"


@dataclass(frozen=True)
class SystemKeys:
    """A system, its agency and its secrets (revoked ones too, to say why a call fails)."""

    system_id: str
    agency: AgencyInfo | None
    secrets: tuple[StoredSecret, ...]

    @property
    def active(self) -> list[tuple[StoredSecret, str]]:
        """The secrets that authenticate, keyed by themselves (for the HMAC check)."""
        return [(stored, stored.secret) for stored in self.secrets if stored.revoked_at is None]

    @property
    def revoked(self) -> list[tuple[StoredSecret, str]]:
        """The revoked secrets."""
        return [(stored, stored.secret) for stored in self.secrets if stored.revoked_at]


def _system_of(session: Session, agency_code: str) -> VxpSystem | None:
    return session.scalars(
        select(VxpSystem).where(VxpSystem.agency_code == agency_code)
    ).one_or_none()


def issue_secret(
    session: Session,
    box: SecretBox,
    agency_code: str,
    *,
    system_id: str | None = None,
    label: str = "",
) -> IssuedSecret:
    """A new secret for the agency's system, created on first use (its id defaults to the
    agency's code); the agency's other secrets stay active until revoked.

    Raises:
        NotFoundError: no agency has this code.
        ConflictError: the system id is taken, or the agency already has another one.
        ConfigurationError: the system id is not usable in an HTTP header.
    """
    get_agency(session, agency_code)
    system = _system_of(session, agency_code)
    if system is None:
        wanted = system_id or agency_code
        if not _SYSTEM_ID.match(wanted):
            raise ConfigurationError(
                f"system id {wanted!r} must be 1 to {VXP_SYSTEM_ID_LENGTH} letters, digits or "
                "'._:-', starting with a letter or digit"
            )
        taken = session.get(VxpSystem, wanted)
        if taken is not None:
            raise ConflictError(
                f"system id {wanted!r} belongs to agency {taken.agency_code}",
                code="vxp.system-taken",
            )
        system = VxpSystem(system_id=wanted, agency_code=agency_code)
        session.add(system)
        session.flush()
    elif system_id is not None and system_id != system.system_id:
        raise ConflictError(
            f"agency {agency_code} already connects as system {system.system_id!r}; its "
            "secrets are issued for that id",
            code="vxp.system-exists",
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    row = VxpSecret(
        system_id=system.system_id,
        secret_encrypted=box.seal(secret),
        prefix=secret[: len(SECRET_PREFIX) + _SHOWN_CHARS],
        label=label,
    )
    session.add(row)
    session.flush()
    return IssuedSecret(
        id=row.id, system_id=system.system_id, agency_code=agency_code, label=label, secret=secret
    )


def list_secrets(session: Session, agency_code: str) -> tuple[str | None, list[SecretInfo]]:
    """The agency's system id (None when it has none) and every secret, oldest first.

    Raises:
        NotFoundError: no agency has this code.
    """
    get_agency(session, agency_code)
    system = _system_of(session, agency_code)
    if system is None:
        return None, []
    rows = session.scalars(
        select(VxpSecret).where(VxpSecret.system_id == system.system_id).order_by(VxpSecret.id)
    )
    return system.system_id, [SecretInfo.of(row) for row in rows]


def revoke_secret(
    session: Session, agency_code: str, secret_id: int, *, now: datetime | None = None
) -> SecretInfo:
    """Revoke one secret of the agency's system; revoking it again keeps the first time.

    Raises:
        NotFoundError: the agency's system has no secret with this id.
    """
    system = _system_of(session, agency_code)
    row = session.get(VxpSecret, secret_id)
    if system is None or row is None or row.system_id != system.system_id:
        raise NotFoundError(
            f"agency {agency_code} has no VXP secret {secret_id}", code="vxp.secret-not-found"
        )
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
    return SecretInfo.of(row)


def rekey(session: Session, box: SecretBox) -> int:
    """Encrypt every stored secret again under the first key; how many there were."""
    rows = list(session.scalars(select(VxpSecret).order_by(VxpSecret.id)))
    for row in rows:
        row.secret_encrypted = box.reseal(row.secret_encrypted)
    session.flush()
    return len(rows)


def system_keys(session: Session, box: SecretBox, system_id: str) -> SystemKeys | None:
    """A system with its agency and decrypted secrets (one query); None for an unknown id."""
    rows = session.execute(
        select(
            VxpSystem.agency_code,
            VxpSecret.id.label("secret_id"),
            VxpSecret.secret_encrypted,
            VxpSecret.last_used_at,
            VxpSecret.revoked_at,
            *AGENCY_COLUMNS,
        )
        .select_from(VxpSystem)
        .outerjoin(VxpSecret, VxpSecret.system_id == VxpSystem.system_id)
        .outerjoin(Agency, Agency.code == VxpSystem.agency_code)
        .outerjoin(AgencyLevel, AgencyLevel.level == Agency.level)
        .where(VxpSystem.system_id == system_id)
        .order_by(VxpSecret.id.desc())
    ).all()
    if not rows:
        return None
    first = rows[0]
    return SystemKeys(
        system_id=system_id,
        agency=AgencyInfo.from_row(first) if first.code is not None else None,
        secrets=tuple(
            StoredSecret(
                id=row.secret_id,
                secret=box.open(row.secret_encrypted),
                last_used_at=row.last_used_at,
                revoked_at=row.revoked_at,
            )
            for row in rows
            if row.secret_id is not None
        ),
    )


def record_use(session: Session, stored: StoredSecret, now: datetime) -> None:
    """Note that a secret was used (at most once a minute, to keep checks read-mostly)."""
    if stored.last_used_at is None or now - stored.last_used_at >= _LAST_USED_RESOLUTION:
        session.execute(update(VxpSecret).where(VxpSecret.id == stored.id).values(last_used_at=now))
