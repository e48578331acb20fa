"""Partial reversals (several per payment, up to its amount), true duplicates told apart by content, the account a
suspense payment named (re-matched when its placement arrives), and webhook rejections aggregated per source."""

from alembic import op

revision = "0008"
down_revision = "0007"

STATEMENTS = [
    # What a gateway said, hashed: a redelivery with the same content is a duplicate, another content a conflict.
    "ALTER TABLE payments.payments ADD COLUMN content_sha256 text",
    # The account the payer named (or its payment-link token named), kept while the payment waits in suspense.
    "ALTER TABLE payments.payments ADD COLUMN claimed_account_ref text",
    """UPDATE payments.payments SET claimed_account_ref = reference
       WHERE status = 'unmatched' AND unmatched_reason = 'unknown_account_ref' AND source = 'bank_file'""",
    "CREATE INDEX payments_suspense_claims ON payments.payments (client_slug, claimed_account_ref) "
    "WHERE status = 'unmatched'",
    "ALTER TABLE payments.payments ADD COLUMN reversed_amount numeric(16, 2) NOT NULL DEFAULT 0",
    "UPDATE payments.payments SET reversed_amount = amount WHERE status = 'reversed'",
    "ALTER TABLE payments.payments ADD CONSTRAINT payments_reversed_within_amount "
    "CHECK (reversed_amount >= 0 AND reversed_amount <= amount)",
    "ALTER TABLE payments.reversals DROP CONSTRAINT reversals_payment_id_key",
    "CREATE INDEX reversals_payment ON payments.reversals (payment_id)",
    "ALTER TABLE payments.reversals ADD COLUMN content_sha256 text",
    "CREATE UNIQUE INDEX reversals_gateway_once ON payments.reversals (gateway, external_id) "
    "WHERE gateway IS NOT NULL",
    "ALTER TABLE payments.reversals ADD CONSTRAINT reversals_amount_positive CHECK (amount > 0)",
    # An Idempotency-Key's stored answer follows its payment out of suspense.
    "ALTER TABLE payments.idempotency_keys ADD COLUMN payment_id uuid",
    """UPDATE payments.idempotency_keys SET payment_id = CAST(response->>'id' AS uuid)
       WHERE response ? 'id' AND response->>'id' ~ '^[0-9a-f-]{36}$'""",
    "CREATE INDEX idempotency_keys_payment ON payments.idempotency_keys (payment_id) WHERE payment_id IS NOT NULL",
    # One row per (gateway, source address, reason) with a count, instead of one row per refused request.
    "ALTER TABLE payments.webhook_rejections RENAME TO webhook_rejections_v1",
    """CREATE TABLE payments.webhook_rejections (
        id bigserial PRIMARY KEY,
        gateway text NOT NULL,
        source_address text,
        reason text NOT NULL,
        count bigint NOT NULL CHECK (count > 0),
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        sample jsonb NOT NULL DEFAULT '{}'::jsonb,
        UNIQUE NULLS NOT DISTINCT (gateway, source_address, reason))""",
    "CREATE INDEX webhook_rejections_last_seen ON payments.webhook_rejections (last_seen)",
    """INSERT INTO payments.webhook_rejections (gateway, source_address, reason, count, first_seen, last_seen)
       SELECT gateway, source_address, reason, count(*), min(received_at), max(received_at)
       FROM payments.webhook_rejections_v1 GROUP BY gateway, source_address, reason""",
    "DROP TABLE payments.webhook_rejections_v1",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
