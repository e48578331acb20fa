"""Gateway refunds and chargebacks that arrive before the payment they name (kept until it is booked, then applied
once), the PayU transaction an approved reference was applied by (a second approval of the reference goes to
suspense), and the daily reconciliation reports per gateway account: ids and amounts only, no payer (#21)."""

from alembic import op

revision = "0016"
down_revision = "0015"

STATEMENTS = [
    # A reversal whose payment was never notified here yet (gateways deliver out of order): amounts only.
    """CREATE TABLE payments.gateway_pending_reversals (
        gateway text NOT NULL,
        reversal_id text NOT NULL,
        refers_to text NOT NULL,
        client_slug text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('refunded', 'charged_back')),
        amount numeric(18, 3) NOT NULL CHECK (amount >= 0),
        currency text NOT NULL,
        cumulative boolean NOT NULL,
        received_at timestamptz NOT NULL,
        applied_at timestamptz,
        PRIMARY KEY (gateway, reversal_id))""",
    "CREATE INDEX gateway_pending_reversals_waiting ON payments.gateway_pending_reversals (gateway, refers_to) "
    "WHERE applied_at IS NULL",
    "ALTER TABLE payments.gateway_payment_states ADD COLUMN approved_attempt text",
    # One report per gateway account and local day; rerun replaces it (a failed run is retried next period).
    """CREATE TABLE payments.gateway_reconciliations (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_name text NOT NULL,
        day date NOT NULL,
        status text NOT NULL CHECK (status IN ('clean', 'differences', 'failed', 'not_configured')),
        reason text,
        report jsonb NOT NULL,
        ran_at timestamptz NOT NULL,
        UNIQUE (client_slug, account_name, day))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
