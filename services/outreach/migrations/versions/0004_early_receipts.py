"""Receipts that arrive before the send that caused them has committed (a fast provider callback) are kept
until the attempt knows its provider message id, then applied: a receipt is never lost to that race."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("""CREATE TABLE outreach.early_receipts (
        provider text NOT NULL,
        provider_message_id text NOT NULL,
        status text NOT NULL,
        detail text,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (provider, provider_message_id, status))""")
