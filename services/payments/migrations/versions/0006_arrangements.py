"""Arrangements (settlements and instalment plans); instalments are promises of the arrangement."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("""CREATE TABLE payments.arrangements (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('settlement', 'instalment_plan')),
        total_amount numeric(16, 2) NOT NULL,
        instalments jsonb NOT NULL,
        made_at timestamptz NOT NULL,
        source text NOT NULL,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'kept', 'broken', 'cancelled')),
        missed integer NOT NULL DEFAULT 0,
        decided_at timestamptz)""")
    op.execute("CREATE UNIQUE INDEX arrangements_one_active ON payments.arrangements (client_slug, account_ref) "
               "WHERE status = 'active'")
    op.execute("ALTER TABLE payments.promises ADD COLUMN arrangement_id uuid REFERENCES payments.arrangements (id)")
