"""The VXP endpoint's systems and secrets (and an index on what each agency submitted), the
raw peer code of attempts, axis reconciliations.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vxp_systems",
        sa.Column("system_id", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_vxp_systems_agency_code_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", name=op.f("pk_vxp_systems")),
        sa.UniqueConstraint("agency_code", name=op.f("uq_vxp_systems_agency_code")),
    )
    op.create_table(
        "vxp_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.String(length=64), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["vxp_systems.system_id"],
            name=op.f("fk_vxp_secrets_system_id_vxp_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vxp_secrets")),
    )
    with op.batch_alter_table("vxp_secrets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vxp_secrets_system_id"), ["system_id"], unique=False)

    op.create_table(
        "axis_reconciliations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("upstream", sa.String(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("listed", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("receive_states", sa.JSON(), nullable=False),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axis_reconciliations")),
    )
    with op.batch_alter_table("axis_reconciliations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axis_reconciliations_upstream"), ["upstream"], unique=False
        )

    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("peer_code", sa.String(length=64), nullable=True))
    with op.batch_alter_table("packets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_packets_submitted_by_received_at", ["submitted_by", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("packets", schema=None) as batch_op:
        batch_op.drop_index("ix_packets_submitted_by_received_at")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_column("peer_code")
    with op.batch_alter_table("axis_reconciliations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axis_reconciliations_upstream"))
    op.drop_table("axis_reconciliations")
    with op.batch_alter_table("vxp_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vxp_secrets_system_id"))
    op.drop_table("vxp_secrets")
    op.drop_table("vxp_systems")
