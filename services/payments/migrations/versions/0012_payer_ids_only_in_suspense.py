"""Payments no longer in suspense forget the id number their payer gave, as payments recorded since 0011 do: only
an operator resolving a suspense payment reads it, and the account it was applied to says whose it was (#19)."""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.execute("UPDATE payments.payments SET debtor_id = NULL WHERE status <> 'unmatched' AND debtor_id IS NOT NULL")
