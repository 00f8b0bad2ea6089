"""Transport: packets, deliveries, delivery attempts and the outbox.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "packets",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sender_code", sa.String(length=64), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.String(length=255), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.String(length=2), nullable=True),
        sa.Column("addressee_code", sa.String(length=64), nullable=True),
        sa.Column("code", sa.String(length=128), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("signature_status", sa.String(length=16), nullable=False),
        sa.Column("signature_reason", sa.Text(), nullable=True),
        sa.Column("signature_trusted", sa.Boolean(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packets")),
        sa.UniqueConstraint("sha256", name=op.f("uq_packets_sha256")),
    )
    with op.batch_alter_table("packets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_packets_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_packets_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_packets_sender_code"), ["sender_code"], unique=False)
        batch_op.create_index(
            "uq_packets_new_document",
            ["sender_code", "document_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'edoc' AND business_type = 0"),
            postgresql_where=sa.text("kind = 'edoc' AND business_type = 0"),
        )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("packet_id", sa.String(length=26), nullable=False),
        sa.Column("recipient_code", sa.String(length=64), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "inbox",
                "webhook",
                "amqp",
                "axis",
                "hub",
                name="delivery_channel",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "retrying",
                "available",
                "delivered",
                "refused",
                "parked",
                "expired",
                name="delivery_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_result", sa.String(length=8), nullable=True),
        sa.Column("ack_reason", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["packet_id"], ["packets.id"], name=op.f("fk_deliveries_packet_id_packets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "packet_id", "recipient_code", name=op.f("uq_deliveries_packet_id_recipient_code")
        ),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_packet_id"), ["packet_id"], unique=False)
        batch_op.create_index(
            "ix_deliveries_recipient_code_state", ["recipient_code", "state"], unique=False
        )
        batch_op.create_index(
            "ix_deliveries_state_updated_at", ["state", "updated_at"], unique=False
        )

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delivery_id", sa.String(length=26), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_attempts_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_attempts_delivery_id"), ["delivery_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delivery_id", sa.String(length=26), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_outbox_delivery_id_deliveries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_unpublished",
            ["id"],
            unique=False,
            sqlite_where=sa.text("published_at IS NULL"),
            postgresql_where=sa.text("published_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_unpublished",
            sqlite_where=sa.text("published_at IS NULL"),
            postgresql_where=sa.text("published_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_outbox_delivery_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_delivery_id"))

    op.drop_table("delivery_attempts")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_state_updated_at")
        batch_op.drop_index("ix_deliveries_recipient_code_state")
        batch_op.drop_index(batch_op.f("ix_deliveries_packet_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("packets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_packets_new_document",
            sqlite_where=sa.text("kind = 'edoc' AND business_type = 0"),
            postgresql_where=sa.text("kind = 'edoc' AND business_type = 0"),
        )
        batch_op.drop_index(batch_op.f("ix_packets_sender_code"))
        batch_op.drop_index(batch_op.f("ix_packets_received_at"))
        batch_op.drop_index(batch_op.f("ix_packets_document_id"))

    op.drop_table("packets")
