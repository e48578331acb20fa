"""The arrangements payments made (#21), as the debtor page shows them: the plan an account stands under (its kind,
total and instalments), until payments says it was kept or broken. No personal data: an account, amounts, dates."""

from alembic import op

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    op.execute("""CREATE TABLE outreach.arrangements (
        arrangement_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        kind text NOT NULL,
        total_amount numeric(18, 2) NOT NULL,
        instalments jsonb NOT NULL,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'kept', 'broken')),
        made_at timestamptz NOT NULL,
        decided_at timestamptz)""")
    op.execute("CREATE INDEX arrangements_standing ON outreach.arrangements (client_slug, account_ref) "
               "WHERE status = 'active'")
