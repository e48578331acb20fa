"""Promises to pay and their verdicts."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("""CREATE TABLE payments.promises (
        promise_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        amount numeric(16, 2) NOT NULL,
        due_date date NOT NULL,
        made_at timestamptz NOT NULL,
        source text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'kept', 'broken', 'cancelled')),
        decided_at timestamptz)""")
    op.execute("CREATE INDEX promises_pending ON payments.promises (client_slug, account_ref) WHERE status = 'pending'")
