"""WhatsApp answers (#20): the answer the webhook queues for a debtor's message (the payment link, the debtor page)
is handed to the Cloud API at most once; one Meta certainly did not take (a rate limit) is tried again after a
backoff, counted here. No personal data: the number and the words stay where they were (erased with the person)."""

from alembic import op

revision = "0019"
down_revision = "0018"

STATEMENTS = [
    "ALTER TABLE outreach.whatsapp_inbound ADD COLUMN answer_tries integer NOT NULL DEFAULT 0, "
    "ADD COLUMN answer_retry_at timestamptz",
    "CREATE INDEX whatsapp_answers_due ON outreach.whatsapp_inbound (received_at) "
    "WHERE answer IS NOT NULL AND answered_at IS NULL",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
