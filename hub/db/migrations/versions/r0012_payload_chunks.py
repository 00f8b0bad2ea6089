"""The database payload store: each packet's key and the chunks of its bytes.

Empty unless ``LIENTHONG_PAYLOAD_STORE=database``; then every host of a cluster reads and
writes packet bytes here instead of in a folder. On PostgreSQL the chunks are stored without
compression (``STORAGE EXTERNAL``): packets are mostly base64 and signed PDFs, which compress
little, and the time would be spent on every write and read.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payload_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("upload", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_payload_blobs")),
        sa.UniqueConstraint("upload", name=op.f("uq_payload_blobs_upload")),
    )
    op.create_table(
        "payload_chunks",
        sa.Column("upload", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("upload", "seq", name=op.f("pk_payload_chunks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE payload_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("payload_chunks")
    op.drop_table("payload_blobs")
