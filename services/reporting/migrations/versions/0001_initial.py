"""Read models of accounts and payments, built only from events; client copy, outbox, inbox."""

from alembic import op

from recaudo_common.client_copy import client_copy_ddl
from recaudo_common.outbox import outbox_inbox_ddl

revision = "0001"
down_revision = None

TABLES = [
    """CREATE TABLE reporting.accounts (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        placed_balance numeric(16, 2) NOT NULL,
        placed_at timestamptz NOT NULL,
        product text,
        bucket_at_placement text,
        current_bucket text,
        segment text,
        balance numeric(16, 2) NOT NULL,
        status text NOT NULL DEFAULT 'open',
        recalled_at timestamptz,
        PRIMARY KEY (client_slug, account_ref))""",
    """CREATE TABLE reporting.payments (
        payment_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        amount numeric(16, 2) NOT NULL,
        paid_at timestamptz NOT NULL,
        reversed_amount numeric(16, 2) NOT NULL DEFAULT 0,
        applied_at timestamptz NOT NULL)""",
    "CREATE INDEX reporting_payments_client ON reporting.payments (client_slug, paid_at)",
]


def upgrade() -> None:
    for statement in TABLES + [client_copy_ddl("reporting")] + outbox_inbox_ddl("reporting"):
        op.execute(statement)
