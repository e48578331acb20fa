"""What a settlement forgave (so a payment toward it taken back later owes it again), and the Stripe disputes decided
for the merchant (so their chargeback, whenever it arrives, takes nothing, and the money given back is booked once).

Settlements kept before this revision forgave what their adjustment booked: the ledger's adjustment of the account at
the instant the settlement was decided (restatements' adjustments carry their event's id, a settlement's none)."""

from alembic import op

revision = "0025"
down_revision = "0024"


def upgrade() -> None:
    op.execute("ALTER TABLE payments.arrangements ADD COLUMN forgiven numeric(16, 2)")
    op.execute(
        """UPDATE payments.arrangements a SET forgiven = coalesce((
               SELECT -sum(e.amount) FROM payments.ledger_entries e
               WHERE e.client_slug = a.client_slug AND e.account_ref = a.account_ref AND e.kind = 'adjustment'
                 AND e.booked_at = a.decided_at AND e.payment_id IS NULL AND e.event_id IS NULL), 0)
           WHERE a.kind = 'settlement' AND a.status = 'kept'""")
    op.execute("""CREATE TABLE payments.gateway_reinstatements (
        gateway text NOT NULL,
        dispute_id text NOT NULL,
        refers_to text NOT NULL,
        client_slug text NOT NULL,
        amount numeric(18, 3) NOT NULL CHECK (amount >= 0),
        currency text NOT NULL,
        received_at timestamptz NOT NULL,
        payment_id uuid,
        PRIMARY KEY (gateway, dispute_id))""")
