"""The ledger, payments, the suspense queue and idempotency keys; client copy, outbox, inbox."""

from alembic import op

from recaudo_common.client_copy import client_copy_ddl
from recaudo_common.outbox import outbox_inbox_ddl

revision = "0001"
down_revision = None

TABLES = [
    """CREATE TABLE payments.accounts (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        debtor_id text NOT NULL,
        currency text NOT NULL,
        balance numeric(16, 2) NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'settled')),
        recalled boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, account_ref))""",
    "CREATE INDEX payments_accounts_debtor ON payments.accounts (client_slug, debtor_id)",
    """CREATE TABLE payments.ledger_entries (
        id bigserial PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('placement', 'adjustment', 'payment', 'reversal', 'chargeback')),
        amount numeric(16, 2) NOT NULL,
        payment_id uuid,
        event_id uuid,
        booked_at timestamptz NOT NULL)""",
    "CREATE INDEX ledger_account ON payments.ledger_entries (client_slug, account_ref, id)",
    """CREATE TABLE payments.payments (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text,
        amount numeric(16, 2) NOT NULL CHECK (amount > 0),
        currency text NOT NULL,
        paid_at timestamptz NOT NULL,
        source text NOT NULL CHECK (source IN ('gateway', 'bank_file', 'manual')),
        method text,
        reference text,
        debtor_id text,
        status text NOT NULL CHECK (status IN ('applied', 'unmatched', 'reversed')),
        unmatched_reason text,
        received_at timestamptz NOT NULL)""",
    "CREATE INDEX payments_unmatched ON payments.payments (client_slug, received_at) WHERE status = 'unmatched'",
    """CREATE TABLE payments.idempotency_keys (
        client_slug text NOT NULL,
        key text NOT NULL,
        request_sha256 text NOT NULL,
        response jsonb,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, key))""",
]


def upgrade() -> None:
    for statement in TABLES + [client_copy_ddl("payments")] + outbox_inbox_ddl("payments"):
        op.execute(statement)
