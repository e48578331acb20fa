"""A gateway's payment in fractions of a cent waits in suspense with its amount exactly as the gateway said it:
numeric(16, 2) kept 100.005 as 100.01 (money nobody paid, assignable to an account) and 0.004 as 0.00, which broke
the amount > 0 check, so the notification was answered 500 and sent again forever."""

from alembic import op

revision = "0029"
down_revision = "0028"


def upgrade() -> None:
    # Dropping the scale is binary coercible: no rewrite (PostgreSQL checks the table's constraints again, a scan).
    # Every stored amount keeps its two decimals; payments' stores write amounts in cents with two as before.
    op.execute("ALTER TABLE payments.payments ALTER COLUMN amount TYPE numeric")
    # Only a suspense payment held for its fractions of a cent may hold them: the ledger (numeric(16, 2)) never sees
    # one. The bound numeric(16, 2) set stays. NOT VALID: every row so far was numeric(16, 2), in cents and below
    # it, so there is nothing to scan for; new rows are checked.
    op.execute("ALTER TABLE payments.payments ADD CONSTRAINT payments_amount_in_cents CHECK (amount < 1e14 AND ("
               "amount = round(amount, 2) OR unmatched_reason IS NOT DISTINCT FROM 'amount_not_in_cents')) NOT VALID")
