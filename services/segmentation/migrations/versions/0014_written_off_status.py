"""An account's status may be written_off (#22): payments' payment.* events say it once an account is written off
(a payment after it too); a written-off account is not open, so it is no longer segmented."""

from alembic import op

revision = "0014"
down_revision = "0013"

STATEMENTS = [
    "ALTER TABLE segmentation.accounts DROP CONSTRAINT accounts_status_check",
    """ALTER TABLE segmentation.accounts ADD CONSTRAINT accounts_status_check
        CHECK (status IN ('open', 'paid', 'settled', 'written_off', 'recalled'))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
