"""The monitoring console: users, sessions, the axis poll record, search column, indexes.

``packets.search_text`` is filled for the packets already stored (in batches); on PostgreSQL
it gets a trigram index (extension ``pg_trgm``, trusted since PostgreSQL 13, so the
database's owner may create it) that serves ``LIKE '%…%'``.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
_UNACKNOWLEDGED = "status IS NULL OR status = '01'"


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "viewer",
                "operator",
                "admin",
                name="console_role",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_users")),
        sa.UniqueConstraint("name", name=op.f("uq_console_users_name")),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["console_users.id"],
            name=op.f("fk_console_sessions_user_id_console_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_console_sessions_session_hash")),
    )
    op.create_index(
        op.f("ix_console_sessions_user_id"), "console_sessions", ["user_id"], unique=False
    )
    op.create_index(
        op.f("ix_console_sessions_expires_at"), "console_sessions", ["expires_at"], unique=False
    )
    op.create_table(
        "axis_poll_state",
        sa.Column("upstream", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("polls", sa.BigInteger(), nullable=False),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("listed", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("repeated", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("upstream", "kind", name=op.f("pk_axis_poll_state")),
    )

    op.add_column("packets", sa.Column("search_text", sa.Text(), nullable=True))
    _fill_search_text(bind)
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_packets_search_text",
        "packets",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_packets_console_window",
        "packets",
        ["received_at", "kind", "business_type", "sender_code", "pdf_signed"],
        unique=False,
    )
    op.create_index(
        "ix_deliveries_console_window",
        "deliveries",
        ["created_at", "recipient_code", "state", "delivered_at"],
        unique=False,
    )
    op.create_index(
        "ix_document_recipients_console_window",
        "document_recipients",
        ["created_at", "recipient_code", "status"],
        unique=False,
    )
    op.create_index(
        "ix_document_recipients_unacknowledged",
        "document_recipients",
        ["recipient_code", "created_at", "packet_id"],
        unique=False,
        sqlite_where=sa.text(_UNACKNOWLEDGED),
        postgresql_where=sa.text(_UNACKNOWLEDGED),
    )
    op.create_index(
        "ix_delivery_attempts_started_at", "delivery_attempts", ["started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_attempts_started_at", table_name="delivery_attempts")
    op.drop_index("ix_document_recipients_unacknowledged", table_name="document_recipients")
    op.drop_index("ix_document_recipients_console_window", table_name="document_recipients")
    op.drop_index("ix_deliveries_console_window", table_name="deliveries")
    op.drop_index("ix_packets_console_window", table_name="packets")
    op.drop_index("ix_packets_search_text", table_name="packets")
    with op.batch_alter_table("packets", schema=None) as batch_op:
        batch_op.drop_column("search_text")
    op.drop_table("axis_poll_state")
    op.drop_index(op.f("ix_console_sessions_expires_at"), table_name="console_sessions")
    op.drop_index(op.f("ix_console_sessions_user_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_users")


def _fill_search_text(bind: sa.Connection) -> None:
    """Set ``search_text`` of the packets stored before this revision, in batches.

    Skipped in offline mode (``--sql``), which cannot read rows: a database upgraded from
    such a script keeps its older packets out of accent-insensitive search.
    """
    if op.get_context().as_sql:
        return
    packets = sa.table(
        "packets",
        sa.column("id", sa.String()),
        sa.column("document_id", sa.String()),
        sa.column("code", sa.String()),
        sa.column("subject", sa.Text()),
        sa.column("search_text", sa.Text()),
    )
    after = ""
    while True:
        rows = bind.execute(
            sa.select(packets.c.id, packets.c.document_id, packets.c.code, packets.c.subject)
            .where(packets.c.id > after)
            .order_by(packets.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            packets.update()
            .where(packets.c.id == sa.bindparam("packet_id"))
            .values(search_text=sa.bindparam("text")),
            [
                {"packet_id": row.id, "text": _search_text(row.document_id, row.code, row.subject)}
                for row in rows
            ],
        )
        after = rows[-1].id


# A frozen copy of hub.console.text.search_text as of this revision (tests keep them equal).
_SPACES = re.compile(r"\s+")
_SPECIAL = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


def _search_text(*parts: str | None) -> str:
    text = " ".join(part for part in parts if part)
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()[:2000]
