"""A gateway's payment in fractions of a cent waits in suspense with its amount exactly as the gateway said it:
numeric(16, 2) kept 100.005 as 100.01 (money nobody paid, assignable to an account) and 0.004 as 0.00, which broke
the amount > 0 check, so the notification was answered 500 and sent again forever."""

from alembic import op

revision = "0029"
down_revision = "0028"


def upgrade() -> None:
    # Dropping the scale is binary coercible: no rewrite, and every stored amount keeps its two decimals (payments'
    # stores write amounts in cents with two as before). PostgreSQL would check the column's constraints again over
    # the whole table under this statement's lock; every row already meets them, so they are put back NOT VALID
    # (still checked for every new or changed row) and nothing is scanned here: 0030 validates them without holding
    # writes back.
    # payments_amount_in_cents: only a suspense payment held for its fractions of a cent may hold them (the ledger,
    # numeric(16, 2), never sees one), below the bound numeric(16, 2) set.
    op.execute("""ALTER TABLE payments.payments
        DROP CONSTRAINT payments_amount_check,
        DROP CONSTRAINT payments_reversed_within_amount,
        ALTER COLUMN amount TYPE numeric,
        ADD CONSTRAINT payments_amount_check CHECK (amount > 0) NOT VALID,
        ADD CONSTRAINT payments_reversed_within_amount
            CHECK (reversed_amount >= 0 AND reversed_amount <= amount) NOT VALID,
        ADD CONSTRAINT payments_amount_in_cents CHECK (amount < 1e14 AND (amount = round(amount, 2)
            OR unmatched_reason IS NOT DISTINCT FROM 'amount_not_in_cents')) NOT VALID""")
