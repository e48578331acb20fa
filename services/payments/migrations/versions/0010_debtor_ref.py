"""Each account's debtor by their pseudonymous id from the vault (debtor_ref); the id number in clear becomes
optional: an account whose person is erased (or was never in clear) has none (#19)."""

from alembic import op

revision = "0010"
down_revision = "0009"

STATEMENTS = [
    # Nullable: accounts placed before #19 get theirs when next stated.
    "ALTER TABLE payments.accounts ADD COLUMN debtor_ref uuid",
    "ALTER TABLE payments.accounts ALTER COLUMN debtor_id DROP NOT NULL",
    "CREATE INDEX payments_accounts_debtor_ref ON payments.accounts (client_slug, debtor_ref) "
    "WHERE debtor_ref IS NOT NULL",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
