"""When each account's pseudonym and sealed data were announced downstream (#19): a version 2 account.placed or
account.updated, or account.pseudonymised for an account whose other services' copies predate pseudonyms. Every
account already here is unannounced: what the services consumed of it may have been a version 1 event in clear."""

from alembic import op

revision = "0011"
down_revision = "0010"

STATEMENTS = [
    "ALTER TABLE ingest.accounts ADD COLUMN pseudonym_announced_at timestamptz",
    # The backfill looks for the accounts still to announce: none once it has run.
    """CREATE INDEX accounts_unannounced ON ingest.accounts (client_slug, account_ref)
        WHERE pseudonym_announced_at IS NULL AND debtor_id IS NOT NULL""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
