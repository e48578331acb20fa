"""Decisions are read by attempt (an account's contact history, the latest decision of an attempt): without
this index each such read scanned every decision ever made; the full-size fault-injection run found it."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS decisions_attempt ON outreach.decisions (attempt_id, id)")
    op.execute("CREATE INDEX IF NOT EXISTS early_receipts_received ON outreach.early_receipts (received_at)")
