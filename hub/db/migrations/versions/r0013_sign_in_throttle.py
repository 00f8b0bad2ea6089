"""Console sign-in failures are counted per (name typed, client address) and per address.

A lock per account let anyone lock any account (admins included) and told who has one; the
counts move to ``console_sign_in_failures`` and the account's own count and lock go.
(SQLite drops the columns with its own ``ALTER TABLE … DROP COLUMN``, 3.35 and later:
rebuilding ``console_users`` in batch mode would cascade-delete its sessions.)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = ("failed_logins", "locked_until")


def upgrade() -> None:
    op.create_table(
        "console_sign_in_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_console_sign_in_failures")),
    )
    op.create_index(
        op.f("ix_console_sign_in_failures_account"),
        "console_sign_in_failures",
        ["account"],
        unique=False,
    )
    for column in _DROPPED:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE console_users DROP COLUMN {column}")
        else:
            op.drop_column("console_users", column)


def downgrade() -> None:
    op.add_column(
        "console_users",
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "console_users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.drop_index(
        op.f("ix_console_sign_in_failures_account"), table_name="console_sign_in_failures"
    )
    op.drop_table("console_sign_in_failures")
