"""Channels are listed once, in code: the CHECK constraints repeating them are dropped.

The application refuses a channel the :class:`~hub.channels.Channel` enum does not name
before it writes; a new channel then needs no migration.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHANNELS_OF_0007 = ("inbox", "webhook", "amqp", "axis", "hub")
_CONSTRAINTS = (("agencies", "channel"), ("deliveries", "delivery_channel"))


def upgrade() -> None:
    for table, name in _CONSTRAINTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")


def downgrade() -> None:
    allowed = ", ".join(f"'{value}'" for value in _CHANNELS_OF_0007)
    for table, name in _CONSTRAINTS:
        column = "channel"
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(name, sa.text(f"{column} IN ({allowed})"))
