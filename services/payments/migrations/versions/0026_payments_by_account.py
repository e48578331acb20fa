"""An account's payments found by the account: what was paid toward a promise or an arrangement (judged on every
payment to an account with one pending, and by the evaluator for each pending promise) and the account's payment
list read them so; without this index each was a sequential scan of every payment of every client company (50 ms
at 500,000 payments on this machine's two cores, growing with the table)."""

from recaudo_common.migrate import create_index_concurrently

revision = "0026"
down_revision = "0025"


def upgrade() -> None:
    # CONCURRENTLY: payments.payments holds every payment ever received, and a plain CREATE INDEX would hold the
    # payments' writes for as long as the build takes. The order serves the account's list, newest first.
    create_index_concurrently("payments_account", "payments",
                              "payments.payments (client_slug, account_ref, received_at, id) "
                              "WHERE account_ref IS NOT NULL")
