"""The debtor pays for real (#21): which ways to pay each client company's gateway accounts offer (payments'
payment.methods_available), the confirmations of checkouts already queued (one per checkout reference and state,
whatever the redelivery), and an attempt's receipt: the facts of a payment confirmation sent through the usual
send path instead of the treatment's message. No personal data: amounts, references, networks, dates."""

from alembic import op

revision = "0024"
down_revision = "0023"

STATEMENTS = [
    """CREATE TABLE outreach.payment_methods (
           client_slug text PRIMARY KEY,
           online boolean NOT NULL,
           cash_networks text[] NOT NULL DEFAULT '{}',
           changed_at timestamptz NOT NULL)""",
    """CREATE TABLE outreach.checkout_confirmations (
           client_slug text NOT NULL,
           reference text NOT NULL,
           status text NOT NULL,
           account_ref text NOT NULL,
           attempt_id uuid,
           recorded_at timestamptz NOT NULL,
           PRIMARY KEY (client_slug, reference, status))""",
    "ALTER TABLE outreach.attempts ADD COLUMN confirmation jsonb",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
