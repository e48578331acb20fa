"""Each account's debtor by their pseudonymous id from the vault (debtor_ref), beside the plaintext for now (#19)."""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    # Nullable: accounts placed before it get theirs when next stated (or by the migration of existing data).
    op.execute("ALTER TABLE ingest.accounts ADD COLUMN debtor_ref uuid")
    op.execute("CREATE INDEX accounts_by_debtor ON ingest.accounts (client_slug, debtor_ref)")
