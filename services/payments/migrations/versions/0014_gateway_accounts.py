"""Gateway accounts per client company (Wompi, Mercado Pago, PayU, Stripe), their secrets sealed at rest and an
opaque id in their webhook URL; and the last state each gateway payment was notified in (pending, declined...),
kept without anything about the payer (#21)."""

from alembic import op

revision = "0014"
down_revision = "0013"

STATEMENTS = [
    """CREATE TABLE payments.gateway_accounts (
        client_slug text NOT NULL,
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('wompi', 'mercadopago', 'payu', 'stripe')),
        webhook_id text NOT NULL UNIQUE,
        settings jsonb NOT NULL,
        secrets jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, name))""",
    # One row per gateway payment (the ledger's `gateway` key and the gateway's payment id): the latest state it
    # was notified in, what it became in the ledger. References and amounts only: no payer.
    """CREATE TABLE payments.gateway_payment_states (
        gateway text NOT NULL,
        gateway_payment_id text NOT NULL,
        client_slug text NOT NULL,
        status text NOT NULL,
        gateway_status text,
        reference text,
        amount numeric(18, 3) NOT NULL,
        currency text NOT NULL,
        payment_id uuid,
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        PRIMARY KEY (gateway, gateway_payment_id))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
