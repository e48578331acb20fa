"""Reversing a write-off (#22): the ledger's write_off_reversal entry, and on each write-off when it was reversed
and the operator's reason (kept here only)."""

from alembic import op

revision = "0020"
down_revision = "0019"

STATEMENTS = [
    "ALTER TABLE payments.ledger_entries DROP CONSTRAINT ledger_entries_kind_check",
    """ALTER TABLE payments.ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN ('placement',
        'adjustment', 'payment', 'reversal', 'chargeback', 'write_off', 'write_off_recovery', 'write_off_reversal'))""",
    "ALTER TABLE payments.write_offs ADD COLUMN reversed_at timestamptz",
    "ALTER TABLE payments.write_offs ADD COLUMN reversal_reason text CHECK (length(reversal_reason) <= 200)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
