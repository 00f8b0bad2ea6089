"""The directory versioned with effective dates: changes, successions, versions, redirects.

Every agency and level gets one version open since before the directory's history; agencies
get the span they exist in; deliveries may end ``merged`` into another delivery of their
packet when their recipients became one agency.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES_OF_0008 = ("queued", "retrying", "available", "delivered", "refused", "parked", "expired")
_STATES = (*_STATES_OF_0008, "merged")


def upgrade() -> None:
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "directory_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "rename",
                "recode",
                "merge",
                "split",
                "dissolve",
                "move",
                "create",
                "levels",
                name="change_kind",
                native_enum=False,
                create_constraint=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("act", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_changes")),
        sa.UniqueConstraint("key", name=op.f("uq_directory_changes_key")),
    )
    op.create_index(
        op.f("ix_directory_changes_effective_at"), "directory_changes", ["effective_at"]
    )
    op.create_index(op.f("ix_directory_changes_applied_at"), "directory_changes", ["applied_at"])
    op.create_table(
        "agency_successions",
        sa.Column("predecessor_code", sa.String(length=64), nullable=False),
        sa.Column("successor_code", sa.String(length=64), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("carries_tokens", sa.Boolean(), nullable=False),
        sa.Column("takes_in_flight", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["directory_changes.id"],
            name=op.f("fk_agency_successions_change_id_directory_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["predecessor_code"],
            ["agencies.code"],
            name=op.f("fk_agency_successions_predecessor_code_agencies"),
        ),
        sa.ForeignKeyConstraint(
            ["successor_code"],
            ["agencies.code"],
            name=op.f("fk_agency_successions_successor_code_agencies"),
        ),
        sa.PrimaryKeyConstraint(
            "predecessor_code", "successor_code", name=op.f("pk_agency_successions")
        ),
    )
    op.create_index(op.f("ix_agency_successions_change_id"), "agency_successions", ["change_id"])
    op.create_index(
        op.f("ix_agency_successions_successor_code"), "agency_successions", ["successor_code"]
    )
    op.create_table(
        "agency_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["directory_changes.id"],
            name=op.f("fk_agency_versions_change_id_directory_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["code"], ["agencies.code"], name=op.f("fk_agency_versions_code_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["level"], ["agency_levels.level"], name=op.f("fk_agency_versions_level_agency_levels")
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["agencies.code"],
            name=op.f("fk_agency_versions_parent_code_agencies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_versions")),
    )
    op.create_index("ix_agency_versions_code_valid_from", "agency_versions", ["code", "valid_from"])
    op.create_table(
        "agency_level_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["directory_changes.id"],
            name=op.f("fk_agency_level_versions_change_id_directory_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["level"],
            ["agency_levels.level"],
            name=op.f("fk_agency_level_versions_level_agency_levels"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_level_versions")),
    )
    op.create_index(op.f("ix_agency_level_versions_level"), "agency_level_versions", ["level"])
    op.create_table(
        "delivery_redirects",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delivery_id", sa.String(length=26), nullable=False),
        sa.Column("from_code", sa.String(length=64), nullable=False),
        sa.Column("to_code", sa.String(length=64), nullable=True),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("merged_into", sa.String(length=26), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["directory_changes.id"],
            name=op.f("fk_delivery_redirects_change_id_directory_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_redirects_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_redirects")),
    )
    op.create_index(
        op.f("ix_delivery_redirects_delivery_id"), "delivery_redirects", ["delivery_id"]
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_delivery_state"), type_="check")
        batch_op.create_check_constraint("delivery_state", _state_check(_STATES))
    _open_versions()


def _open_versions() -> None:
    """One version of every agency and level, open since before the directory's history."""
    op.execute(
        "INSERT INTO agency_level_versions (level, name) SELECT level, name FROM agency_levels"
    )
    op.execute(
        "INSERT INTO agency_versions (code, name, level, parent_code) "
        "SELECT code, name, level, parent_code FROM agencies"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE deliveries SET state = 'parked', updated_at = CURRENT_TIMESTAMP "
        "WHERE state = 'merged'"
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_delivery_state"), type_="check")
        batch_op.create_check_constraint("delivery_state", _state_check(_STATES_OF_0008))
    op.drop_index(op.f("ix_delivery_redirects_delivery_id"), table_name="delivery_redirects")
    op.drop_table("delivery_redirects")
    op.drop_index(op.f("ix_agency_level_versions_level"), table_name="agency_level_versions")
    op.drop_table("agency_level_versions")
    op.drop_index("ix_agency_versions_code_valid_from", table_name="agency_versions")
    op.drop_table("agency_versions")
    op.drop_index(op.f("ix_agency_successions_successor_code"), table_name="agency_successions")
    op.drop_index(op.f("ix_agency_successions_change_id"), table_name="agency_successions")
    op.drop_table("agency_successions")
    op.drop_index(op.f("ix_directory_changes_applied_at"), table_name="directory_changes")
    op.drop_index(op.f("ix_directory_changes_effective_at"), table_name="directory_changes")
    op.drop_table("directory_changes")
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_column("valid_until")
        batch_op.drop_column("valid_from")


def _state_check(states: Sequence[str]) -> sa.TextClause:
    allowed = ", ".join(f"'{state}'" for state in states)
    return sa.text(f"state IN ({allowed})")
