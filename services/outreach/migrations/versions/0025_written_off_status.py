"""An account's status may be written_off (#22): payments' payment.* events say it once an account is written off,
and outreach keeps it (no attempt is planned or sent for it)."""

from alembic import op

revision = "0025"
down_revision = "0024"

STATEMENTS = [
    "ALTER TABLE outreach.account_status DROP CONSTRAINT account_status_status_check",
    """ALTER TABLE outreach.account_status ADD CONSTRAINT account_status_status_check
        CHECK (status IN ('open', 'paid', 'settled', 'written_off', 'recalled'))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
