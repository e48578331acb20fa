"""Each status change keeps the order reporting applied it in (an account's payment events come in the ledger's
order), so an account's latest status is the ledger's latest word, not the change with the latest date: a bank
file's payment dated before a gateway payment applied earlier, or two payments of one bank file's day (the same
instant), may be the one that paid the account in full."""

from alembic import op

revision = "0024"
down_revision = "0023"


def upgrade() -> None:
    # Nullable, its default set apart: no rewrite of the table. The changes recorded before keep no order of their
    # own (NULL): they sort before every later one, among themselves by date as before.
    op.execute("CREATE SEQUENCE IF NOT EXISTS reporting.status_changes_seq")
    op.execute("ALTER TABLE reporting.status_changes ADD COLUMN IF NOT EXISTS seq bigint")
    op.execute("ALTER TABLE reporting.status_changes ALTER COLUMN seq "
               "SET DEFAULT nextval('reporting.status_changes_seq')")
    op.execute("ALTER SEQUENCE reporting.status_changes_seq OWNED BY reporting.status_changes.seq")
