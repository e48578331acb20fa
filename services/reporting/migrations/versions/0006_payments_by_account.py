"""Payments are read by account too (a placement that arrives after its payments takes the ledger's latest word;
an account's recovered total): without this index each such read scanned the client company's payments."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS reporting_payments_account "
               "ON reporting.payments (client_slug, account_ref, applied_at)")
