"""Refunds a gateway's notification claimed and its API could not confirm (a PayU account without its API login):
kept for an operator, one row per signed reference, amount and currency, so replays of one signed body under
made-up transaction ids add nothing; ids and amounts only, no payer (#21)."""

from alembic import op

revision = "0021"
down_revision = "0020"

STATEMENTS = [
    """CREATE TABLE payments.gateway_unconfirmed_refunds (
        gateway text NOT NULL,
        client_slug text NOT NULL,
        reference text NOT NULL CHECK (length(reference) <= 255),
        amount numeric(18, 2) NOT NULL CHECK (amount >= 0),
        currency text NOT NULL,
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        times integer NOT NULL DEFAULT 1,
        PRIMARY KEY (gateway, reference, amount, currency))""",
    "CREATE INDEX gateway_unconfirmed_refunds_recent ON payments.gateway_unconfirmed_refunds (gateway, last_seen)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
