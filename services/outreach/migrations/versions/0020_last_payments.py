"""A debtor who pays is left in peace for a cadence (#20): the last payment seen per account, which planning reads
so that the plan segmentation re-decides after a payment does not message the debtor a second after paying. No
personal data: an account and a time."""

from alembic import op

revision = "0020"
down_revision = "0019"

STATEMENTS = [
    """CREATE TABLE outreach.last_payments (
           client_slug text NOT NULL,
           account_ref text NOT NULL,
           paid_at timestamptz NOT NULL,
           PRIMARY KEY (client_slug, account_ref))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)

