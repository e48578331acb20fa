"""A payment keeps the person its payer's id number found (payer_ref, the pseudonym from the vault's blind index)
instead of the id number itself, which is kept only while the payment waits in suspense for an operator (#19)."""

from alembic import op

revision = "0011"
down_revision = "0010"

STATEMENTS = [
    "ALTER TABLE payments.payments ADD COLUMN payer_ref uuid",
    "CREATE INDEX payments_payer ON payments.payments (client_slug, payer_ref) WHERE payer_ref IS NOT NULL",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
