"""Receipts (status events, per-recipient business state), the audit log, operator tokens.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    op.create_table(
        "operator_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_tokens_token_hash")),
    )
    with op.batch_alter_table("operator_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operator_tokens_operator"), ["operator"], unique=False)

    op.create_table(
        "document_recipients",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sender_code", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=255), nullable=False),
        sa.Column("recipient_code", sa.String(length=64), nullable=False),
        sa.Column("packet_id", sa.String(length=26), nullable=False),
        sa.Column("status", sa.String(length=2), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "change_request",
            sa.Enum(
                "revoke",
                "update",
                "take-back",
                name="change_request",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column(
            "change_state",
            sa.Enum(
                "requested",
                "agreed",
                "refused",
                name="change_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("change_packet_id", sa.String(length=26), nullable=True),
        sa.Column("change_reason", sa.Text(), nullable=True),
        sa.Column("change_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_by", sa.String(length=255), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_packet_id"],
            ["packets.id"],
            name=op.f("fk_document_recipients_change_packet_id_packets"),
        ),
        sa.ForeignKeyConstraint(
            ["packet_id"], ["packets.id"], name=op.f("fk_document_recipients_packet_id_packets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_recipients")),
        sa.UniqueConstraint(
            "sender_code",
            "document_id",
            "recipient_code",
            name=op.f("uq_document_recipients_sender_code_document_id_recipient_code"),
        ),
    )
    with op.batch_alter_table("document_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_recipients_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_document_recipients_packet_id"), ["packet_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_document_recipients_recipient_code"), ["recipient_code"], unique=False
        )

    op.create_table(
        "status_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("packet_id", sa.String(length=26), nullable=False),
        sa.Column("document_sender_code", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=255), nullable=False),
        sa.Column("recipient_code", sa.String(length=64), nullable=False),
        sa.Column("reporter_code", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.String(length=2), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("reported_at_text", sa.String(length=64), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document_known", sa.Boolean(), nullable=False),
        sa.Column("effect", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["packet_id"], ["packets.id"], name=op.f("fk_status_events_packet_id_packets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_events")),
    )
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_status_events_document", ["document_sender_code", "document_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_status_events_packet_id"), ["packet_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_events_packet_id"))
        batch_op.drop_index("ix_status_events_document")

    op.drop_table("status_events")
    with op.batch_alter_table("document_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_recipients_recipient_code"))
        batch_op.drop_index(batch_op.f("ix_document_recipients_packet_id"))
        batch_op.drop_index(batch_op.f("ix_document_recipients_document_id"))

    op.drop_table("document_recipients")
    with op.batch_alter_table("operator_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_tokens_operator"))

    op.drop_table("operator_tokens")
    op.drop_table("audit_log")
