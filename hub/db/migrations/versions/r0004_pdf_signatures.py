"""The digital signatures found in each document's PDF attachments.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("packets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pdf_signed", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("pdf_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("pdf_signed_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("pdf_report", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_packets_pdf_signed"), ["pdf_signed"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("packets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_packets_pdf_signed"))
        batch_op.drop_column("pdf_report")
        batch_op.drop_column("pdf_signed_count")
        batch_op.drop_column("pdf_count")
        batch_op.drop_column("pdf_signed")
