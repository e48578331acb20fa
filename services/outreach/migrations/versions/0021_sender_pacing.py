"""Per-sender pacing (#20): a token bucket per sender (a WhatsApp number, a Twilio number or Messaging Service, the
SMTP relay), named by the provider, the channel and a digest of the sender's id (never the number itself), shared
by every replica; a client company's own rate for its WhatsApp number; and the due attempts indexed by client
company and channel, so each claim takes a bounded slice of each sender's queue."""

from alembic import op

revision = "0021"
down_revision = "0020"

STATEMENTS = [
    """CREATE TABLE outreach.sender_buckets (
        sender text PRIMARY KEY,
        tokens double precision NOT NULL,
        updated_at timestamptz NOT NULL)""",
    "ALTER TABLE outreach.whatsapp_channels ADD COLUMN messages_per_second double precision "
    "CHECK (messages_per_second > 0)",
    "CREATE INDEX attempts_due_lane ON outreach.attempts (client_slug, channel, scheduled_at) "
    "WHERE status = 'scheduled'",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
