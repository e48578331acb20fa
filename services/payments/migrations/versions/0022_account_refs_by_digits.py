"""Accounts found by their all-digit reference without its leading zeros: an Asobancaria 2001 file zero-fills a
reference to 48 digits, so the payment of account 0012345 arrives as 12345, and each such line looks the account up
this way (payments/bank_files/store.py, accounts_by_digits) without reading all of a client company's accounts."""

from alembic import op

revision = "0022"
down_revision = "0021"

STATEMENTS = [
    # Partial: only an all-digit reference is looked up so. The lookup repeats this WHERE word for word (the planner
    # uses a partial index only for a query whose conditions imply its own).
    "CREATE INDEX payments_accounts_digits ON payments.accounts (client_slug, ltrim(account_ref, '0')) "
    "WHERE account_ref ~ '^[0-9]+$'",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
