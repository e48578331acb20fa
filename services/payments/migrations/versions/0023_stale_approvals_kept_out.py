"""A gateway payment's recorded state that says `approved` though nothing was ever applied for it: before 6 December
a stale approval of a payment voided, refunded or charged back first turned its state back to `approved` (answered
`ignored`), and the next delivery of that approval would have applied it. Such a state is put back to `voided`, which
keeps every later approval out as the new rule does (gateways/store.py, STATUS_NOTIFIED); which of the three it was
is not kept anywhere else, and any of them keeps the money out. A real approval always applies (or holds in suspense)
a payment of the same gateway payment id in its own transaction, so it is never one of these."""

from alembic import op

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    op.execute(
        """UPDATE payments.gateway_payment_states s SET status = 'voided'
           WHERE s.status = 'approved' AND s.payment_id IS NULL
             AND NOT EXISTS (SELECT 1 FROM payments.payments p
                             WHERE p.gateway = s.gateway AND p.external_id = s.gateway_payment_id)""")
