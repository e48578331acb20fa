"""Arrangements in the account view: each one as made, and whether it was kept or broken."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("""CREATE TABLE reporting.arrangements (
        arrangement_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        kind text,
        total_amount numeric(16, 2),
        instalments integer,
        source text,
        made_at timestamptz,
        result text CHECK (result IN ('kept', 'broken')),
        decided_at timestamptz)""")
    op.execute("CREATE INDEX reporting_arrangements_account ON reporting.arrangements (client_slug, account_ref)")
