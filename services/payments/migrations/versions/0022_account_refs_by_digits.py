"""Accounts found by their all-digit reference without its leading zeros: an Asobancaria 2001 file zero-fills a
reference to 48 digits, so the payment of account 0012345 arrives as 12345, and each such line looks the account up
this way (payments/bank_files/store.py, accounts_by_digits) without reading all of a client company's accounts."""

from recaudo_common.migrate import create_index_concurrently

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    # Built CONCURRENTLY: payments.accounts holds every account placed, and a plain CREATE INDEX would hold the
    # payments' balance writes for as long as the build takes. Partial: only an all-digit reference is looked up
    # so; the lookup repeats this WHERE word for word (the planner uses a partial index only for a query whose
    # conditions imply its own).
    create_index_concurrently("payments_accounts_digits", "payments",
                              "payments.accounts (client_slug, ltrim(account_ref, '0')) WHERE account_ref ~ '^[0-9]+$'")
