"""The checks on payments' amounts that 0029 put back NOT VALID, validated: a scan that holds no write back
(VALIDATE CONSTRAINT takes a SHARE UPDATE EXCLUSIVE lock), in its own migration, committed after 0029's brief lock
is released."""

from alembic import op

revision = "0030"
down_revision = "0029"


def upgrade() -> None:
    for name in ("payments_amount_check", "payments_reversed_within_amount", "payments_amount_in_cents"):
        op.execute(f"ALTER TABLE payments.payments VALIDATE CONSTRAINT {name}")
