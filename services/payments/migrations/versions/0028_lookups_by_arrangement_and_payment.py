"""Indexes for look-ups that read a whole table (each found by EXPLAIN on 60,000-200,000 rows): an arrangement's
instalments (the promise evaluator, every payment to an account with a pending promise or an arrangement: 27 s an
evaluator run at 200,000 promises), an account's arrangements of any status (every reversal judges its last kept
one again; the account's page lists them), what a payment recovered of written-off money (every reversal; 50 ms),
and the checkouts past their time (the expiry poll; 35 ms)."""

from recaudo_common.migrate import create_index_concurrently

revision = "0028"
down_revision = "0027"


def upgrade() -> None:
    # CONCURRENTLY: each table grows with the portfolio and its payments; a plain build would hold their writes.
    create_index_concurrently("promises_arrangement", "payments",
                              "payments.promises (arrangement_id, due_date) WHERE arrangement_id IS NOT NULL")
    create_index_concurrently("arrangements_account", "payments", "payments.arrangements (client_slug, account_ref)")
    create_index_concurrently("ledger_payment", "payments",
                              "payments.ledger_entries (payment_id) WHERE payment_id IS NOT NULL")
    # The expiry poll's WHERE word for word (checkouts/following.py, OVERDUE): a partial index serves only a query
    # whose conditions imply its own.
    create_index_concurrently("checkouts_overdue", "payments", "payments.checkouts (expires_at) WHERE status = "
                              "'created' OR (status = 'pending' AND voucher_reference IS NOT NULL)")
