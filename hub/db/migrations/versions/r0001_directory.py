"""The directory: administrative levels, agencies, agency tokens and delegations.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency_levels",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("level", name=op.f("pk_agency_levels")),
    )
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "inbox",
                "webhook",
                "amqp",
                "axis",
                "hub",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("channel_settings", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["level"], ["agency_levels.level"], name=op.f("fk_agencies_level_agency_levels")
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["agencies.code"], name=op.f("fk_agencies_parent_code_agencies")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
    )
    op.create_index(op.f("ix_agencies_level"), "agencies", ["level"], unique=False)
    op.create_index(op.f("ix_agencies_parent_code"), "agencies", ["parent_code"], unique=False)
    op.create_table(
        "agency_delegations",
        sa.Column("delegate_code", sa.String(length=64), nullable=False),
        sa.Column("principal_code", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delegate_code"],
            ["agencies.code"],
            name=op.f("fk_agency_delegations_delegate_code_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["principal_code"],
            ["agencies.code"],
            name=op.f("fk_agency_delegations_principal_code_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "delegate_code", "principal_code", name=op.f("pk_agency_delegations")
        ),
    )
    op.create_index(
        op.f("ix_agency_delegations_principal_code"),
        "agency_delegations",
        ["principal_code"],
        unique=False,
    )
    op.create_table(
        "agency_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_code", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_agency_tokens_agency_code_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agency_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_agency_tokens_agency_code"), "agency_tokens", ["agency_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_agency_tokens_agency_code"), table_name="agency_tokens")
    op.drop_table("agency_tokens")
    op.drop_index(op.f("ix_agency_delegations_principal_code"), table_name="agency_delegations")
    op.drop_table("agency_delegations")
    op.drop_index(op.f("ix_agencies_parent_code"), table_name="agencies")
    op.drop_index(op.f("ix_agencies_level"), table_name="agencies")
    op.drop_table("agencies")
    op.drop_table("agency_levels")
