"""Debtors' checkouts at the client company's gateway (#21): one per click on the debtor page (the ticket's nonce),
under a payment reference the platform issues, with the state the gateway's notifications leave it in and, for a
cash voucher, what the debtor takes to the cash point. References and amounts only: nothing about the payer."""

from alembic import op

revision = "0017"
down_revision = "0016"

STATEMENTS = [
    """CREATE TABLE payments.checkouts (
        reference text PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        gateway_account text NOT NULL,
        gateway text NOT NULL CHECK (gateway IN ('wompi', 'mercadopago', 'payu', 'stripe')),
        method text NOT NULL CHECK (method IN ('online', 'cash')),
        amount numeric(18, 3) NOT NULL CHECK (amount > 0),
        currency text NOT NULL,
        status text NOT NULL CHECK (status IN ('created', 'pending', 'approved', 'declined', 'expired')),
        gateway_payment_id text,
        gateway_url text,
        voucher_network text,
        voucher_reference text,
        voucher_url text,
        expires_at timestamptz,
        link_token text NOT NULL,
        ticket_nonce text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (client_slug, ticket_nonce))""",
    "CREATE INDEX checkouts_account ON payments.checkouts (client_slug, account_ref)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
