"""The payments operators recorded by hand, by client company and day: each bank file looks up those of its days, so
that a deposit an operator already recorded is not applied a second time when the bank's statement brings it
(payments/bank_files/handlers.py). Few of all payments, so a small index. Which of them an operator said were
another deposit than a bank line already there, and which one a line held in suspense may be."""

from alembic import op

from recaudo_common.migrate import create_index_concurrently

revision = "0027"
down_revision = "0026"


def upgrade() -> None:
    # A constant default: no table rewrite. IF NOT EXISTS: committed before the index build, a migration that ran
    # again after a failed build finds it done.
    op.execute("ALTER TABLE payments.payments ADD COLUMN IF NOT EXISTS another_deposit boolean NOT NULL DEFAULT false, "
               "ADD COLUMN IF NOT EXISTS answers uuid")
    # Partial: the lookup repeats this WHERE word for word (bank_files/store.py, MANUAL).
    create_index_concurrently("payments_manual", "payments", "payments.payments (client_slug, paid_at) "
                              "WHERE source = 'manual'")
    # A line held in suspense names the payment by hand it may be; few lines do.
    create_index_concurrently("payments_answers", "payments", "payments.payments (answers) WHERE answers IS NOT NULL")
