"""Evidence of sending and delivery: the records and the signed checkpoints of their chain.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("packet_id", sa.String(length=26), nullable=False),
        sa.Column("delivery_id", sa.String(length=26), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("chain_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_records")),
        sa.UniqueConstraint("seq", name=op.f("uq_evidence_records_seq")),
    )
    with op.batch_alter_table("evidence_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_records_packet_id"), ["packet_id"], unique=False
        )
        batch_op.create_index(
            "ix_evidence_records_unsealed",
            ["id"],
            unique=False,
            sqlite_where=sa.text("seq IS NULL"),
            postgresql_where=sa.text("seq IS NULL"),
        )
    op.create_table(
        "evidence_checkpoints",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_evidence_checkpoints")),
        sa.UniqueConstraint("hash", name=op.f("uq_evidence_checkpoints_hash")),
        sa.UniqueConstraint("last_seq", name=op.f("uq_evidence_checkpoints_last_seq")),
    )


def downgrade() -> None:
    op.drop_table("evidence_checkpoints")
    with op.batch_alter_table("evidence_records", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_evidence_records_unsealed",
            sqlite_where=sa.text("seq IS NULL"),
            postgresql_where=sa.text("seq IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_evidence_records_packet_id"))
    op.drop_table("evidence_records")
