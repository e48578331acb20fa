"""Write-offs (#22): the ledger's write_off and write_off_recovery entries, an account's `written_off` status and
the written-off money it has not recovered, and each write-off with its reason (and the operator's short note)."""

from alembic import op

revision = "0018"
down_revision = "0017"

STATEMENTS = [
    "ALTER TABLE payments.ledger_entries DROP CONSTRAINT ledger_entries_kind_check",
    """ALTER TABLE payments.ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN ('placement',
        'adjustment', 'payment', 'reversal', 'chargeback', 'write_off', 'write_off_recovery'))""",
    "ALTER TABLE payments.accounts DROP CONSTRAINT accounts_status_check",
    """ALTER TABLE payments.accounts ADD CONSTRAINT accounts_status_check
        CHECK (status IN ('open', 'paid', 'settled', 'written_off'))""",
    "ALTER TABLE payments.accounts ADD COLUMN written_off numeric(16, 2) NOT NULL DEFAULT 0 CHECK (written_off >= 0)",
    """CREATE TABLE payments.write_offs (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        amount numeric(16, 2) NOT NULL CHECK (amount > 0),
        reason text NOT NULL CHECK (reason IN ('uneconomic', 'deceased', 'statute_barred', 'insolvency', 'fraud',
            'other')),
        note text CHECK (length(note) <= 200),
        source text NOT NULL CHECK (source IN ('operator', 'strategy')),
        written_off_at timestamptz NOT NULL)""",
    "CREATE INDEX write_offs_account ON payments.write_offs (client_slug, account_ref)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
