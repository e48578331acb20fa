"""Gateway payments unique forever per (gateway, payment_id); reversals; recorded webhook rejections."""

from alembic import op

revision = "0003"
down_revision = "0002"

STATEMENTS = [
    "ALTER TABLE payments.payments ADD COLUMN gateway text",
    "ALTER TABLE payments.payments ADD COLUMN external_id text",
    "CREATE UNIQUE INDEX payments_gateway_once ON payments.payments (gateway, external_id) WHERE gateway IS NOT NULL",
    """CREATE TABLE payments.reversals (
        id uuid PRIMARY KEY,
        payment_id uuid NOT NULL UNIQUE REFERENCES payments.payments (id),
        client_slug text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('reversal', 'refund', 'chargeback')),
        amount numeric(16, 2) NOT NULL,
        gateway text,
        external_id text,
        reason text,
        reversed_at timestamptz NOT NULL)""",
    """CREATE TABLE payments.webhook_rejections (
        id bigserial PRIMARY KEY,
        received_at timestamptz NOT NULL,
        gateway text NOT NULL,
        reason text NOT NULL,
        source_address text)""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
