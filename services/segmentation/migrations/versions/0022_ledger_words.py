"""The ledger's latest word on an account not placed here yet (payment.* ran ahead of account.placed): kept in the
order the ledger said it, reversals and write-offs included, so the placement takes the last one, not the latest
payment's."""

from alembic import op

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE IF NOT EXISTS segmentation.ledger_words (
               client_slug text NOT NULL,
               account_ref text NOT NULL,
               new_balance numeric(16, 2) NOT NULL,
               account_status text NOT NULL,
               said_at timestamptz NOT NULL,
               PRIMARY KEY (client_slug, account_ref))""")
