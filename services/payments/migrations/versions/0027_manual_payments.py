"""What a bank statement's line and a payment recorded by hand need to be told apart: which payments an operator
said were another deposit than a bank line already there, and which payment by hand a line held in suspense may be
(payments/bank_files/handlers.py), so that a deposit recorded by hand is not applied a second time when the bank's
statement brings it; and a line an operator closed as the same deposit (status `duplicate`)."""

from alembic import op

from recaudo_common.migrate import create_index_concurrently

revision = "0027"
down_revision = "0026"


def upgrade() -> None:
    # A constant default: no table rewrite. IF NOT EXISTS: committed before the index build, a migration that ran
    # again after a failed build finds it done.
    op.execute("ALTER TABLE payments.payments ADD COLUMN IF NOT EXISTS another_deposit boolean NOT NULL DEFAULT false, "
               "ADD COLUMN IF NOT EXISTS answers uuid")
    op.execute("ALTER TABLE payments.payments DROP CONSTRAINT IF EXISTS payments_status_check, ADD CONSTRAINT "
               "payments_status_check CHECK (status IN ('applied', 'unmatched', 'reversed', 'duplicate'))")
    # A line held in suspense names the payment by hand it may be; few lines do.
    create_index_concurrently("payments_answers", "payments", "payments.payments (answers) WHERE answers IS NOT NULL")
