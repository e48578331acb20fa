"""The promises on each account as payments judges them, for the collection hold (domain/collection_holds.py): a
promise holds its account's collection contacts while it is pending. Kept from promise.made (its due date and when it
was made) and its verdicts (kept, broken, cancelled, reopened: the latest by its instant wins), in whichever order
they come. And an arrangement's verdict may now come before its arrangement.made: the row is kept without the plan
until it comes, so it never stands after it ended. No personal data: an account, dates and a status."""

from alembic import op

revision = "0033"
down_revision = "0032"


def upgrade() -> None:
    op.execute("""CREATE TABLE outreach.promises (
        promise_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        due_date date,
        made_at timestamptz,
        verdict text CHECK (verdict IN ('kept', 'broken', 'cancelled', 'reopened')),
        verdict_at timestamptz)""")
    op.execute("CREATE INDEX promises_pending ON outreach.promises (client_slug, account_ref) "
               "WHERE verdict IS NULL OR verdict = 'reopened'")
    for column in ("kind", "total_amount", "instalments", "made_at"):
        op.execute(f"ALTER TABLE outreach.arrangements ALTER COLUMN {column} DROP NOT NULL")
