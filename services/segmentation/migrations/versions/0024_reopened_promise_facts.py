"""Reopened promises in an account's history: payments' promise.reopened (money that kept a promise was taken back
before its grace day ended) is kept as a `promise_reopened` fact, which undoes that promise's earlier promise_kept."""

from alembic import op

revision = "0024"
down_revision = "0023"

# NOT VALID: every row kept so far satisfies the wider check, so it need not scan the history (a large table) under
# its lock; rows written from now on are checked.
STATEMENTS = [
    "ALTER TABLE segmentation.account_facts DROP CONSTRAINT account_facts_kind_check",
    """ALTER TABLE segmentation.account_facts ADD CONSTRAINT account_facts_kind_check
        CHECK (kind IN ('payment', 'reversal', 'settled', 'promise_made', 'promise_kept', 'promise_broken',
                        'promise_reopened', 'delivered', 'failed', 'logged', 'opted_out', 'replied')) NOT VALID""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
