"""An attempt the debtor answered is `replied`: the end of its state machine after sent or delivered."""

from alembic import op

revision = "0012"
down_revision = "0011"

STATEMENTS = [
    "ALTER TABLE outreach.attempts DROP CONSTRAINT attempts_status_check",
    """ALTER TABLE outreach.attempts
        ADD CONSTRAINT attempts_status_check CHECK (status IN ('scheduled', 'sending', 'sent', 'delivered',
            'failed', 'cancelled', 'assigned', 'unknown', 'replied'))""",
    # Answers received before this step moved no attempt: their attempts are replied now, as they would be today.
    """UPDATE outreach.attempts a SET status = 'replied', delivered_at = COALESCE(a.delivered_at, r.received_at)
       FROM (SELECT attempt_id, min(received_at) AS received_at FROM outreach.replies
             WHERE attempt_id IS NOT NULL GROUP BY attempt_id) r
       WHERE a.id = r.attempt_id AND a.status IN ('sent', 'delivered')""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
