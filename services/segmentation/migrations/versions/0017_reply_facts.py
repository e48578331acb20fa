"""Replies in an account's history (#22): outreach's contact.replied (a debtor answered one of our messages or calls,
not to opt out; never the text) is kept as a `replied` fact, counted in the propensity model's replies_90d."""

from alembic import op

revision = "0017"
down_revision = "0016"

STATEMENTS = [
    "ALTER TABLE segmentation.account_facts DROP CONSTRAINT account_facts_kind_check",
    """ALTER TABLE segmentation.account_facts ADD CONSTRAINT account_facts_kind_check
        CHECK (kind IN ('payment', 'reversal', 'settled', 'promise_made', 'promise_kept', 'promise_broken',
                        'delivered', 'failed', 'logged', 'opted_out', 'replied'))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
