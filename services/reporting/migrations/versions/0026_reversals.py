"""Each reversal, refund and chargeback (payment.reversed) kept with its own instant: the recovery report counts a
reversal in the period it happened, so a month closed and remitted never changes afterwards."""

from alembic import op

revision = "0026"
down_revision = "0025"

STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS reporting.reversals (
        reversal_id uuid PRIMARY KEY,
        payment_id uuid NOT NULL,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        amount numeric(16, 2) NOT NULL,
        at timestamptz NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS reversals_client_at ON reporting.reversals (client_slug, at)",
    # What was reversed before this table, known only as a total per payment, stays in its payment's period, as the
    # reports have shown it; a rebuild from the topics dates each reversal as it happened. Run again (a later
    # migration's test, a retry), a payment whose reversals are already kept is left alone.
    """INSERT INTO reporting.reversals (reversal_id, payment_id, client_slug, account_ref, amount, at)
       SELECT payment_id, payment_id, client_slug, account_ref, reversed_amount, paid_at
       FROM reporting.payments p WHERE reversed_amount <> 0
         AND NOT EXISTS (SELECT 1 FROM reporting.reversals v WHERE v.payment_id = p.payment_id)
       ON CONFLICT DO NOTHING""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
