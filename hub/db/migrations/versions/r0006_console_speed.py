"""Console speed: each recipient's first answer times, kept on its business state; indexes.

``document_recipients.first_ack_at`` (first status 01…06 or 02) and ``first_accept_at``
(first 03…06) spare the agencies page a join of a month of documents with their statuses;
they are filled here from ``status_events`` for the rows already stored (one ``UPDATE …
FROM``), then kept by :mod:`hub.tracking.receipts`. A partial index of the delivered deliveries
serves the unacknowledged page's join.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DELIVERED = "state = 'delivered'"

# The codes are frozen copies of hub.console.queries.ACKNOWLEDGING and ACCEPTING.
_BACKFILL = """
UPDATE document_recipients
SET first_ack_at = firsts.first_ack, first_accept_at = firsts.first_accept
FROM (
    SELECT document_sender_code, document_id, recipient_code,
           min(received_at) AS first_ack,
           min(CASE WHEN status_code IN ('03', '04', '05', '06') THEN received_at END)
               AS first_accept
    FROM status_events
    WHERE status_code IN ('01', '02', '03', '04', '05', '06')
    GROUP BY document_sender_code, document_id, recipient_code
) AS firsts
WHERE document_recipients.sender_code = firsts.document_sender_code
  AND document_recipients.document_id = firsts.document_id
  AND document_recipients.recipient_code = firsts.recipient_code
"""


def upgrade() -> None:
    with op.batch_alter_table("document_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_ack_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_accept_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(_BACKFILL)
    op.create_index(
        "ix_document_recipients_answer_times",
        "document_recipients",
        ["created_at"],
        unique=False,
        postgresql_include=["recipient_code", "first_ack_at", "first_accept_at"],
    )
    op.create_index(
        "ix_deliveries_delivered",
        "deliveries",
        ["packet_id", "recipient_code"],
        unique=False,
        postgresql_include=["delivered_at"],
        sqlite_where=sa.text(_DELIVERED),
        postgresql_where=sa.text(_DELIVERED),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_delivered", table_name="deliveries")
    op.drop_index("ix_document_recipients_answer_times", table_name="document_recipients")
    with op.batch_alter_table("document_recipients", schema=None) as batch_op:
        batch_op.drop_column("first_accept_at")
        batch_op.drop_column("first_ack_at")
