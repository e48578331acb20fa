"""Accounts keep their debtor's pseudonymous id (debtor_ref, from account events version 2), by which an erasure
finds them, and the city apart from the address (a rectified address is composed again with it); the people erased
here, by pseudonymous id only, so a later event about them cannot bring their data back."""

from alembic import op

revision = "0013"
down_revision = "0012"

STATEMENTS = [
    "ALTER TABLE outreach.accounts ADD COLUMN debtor_ref uuid, ADD COLUMN city text",
    "CREATE INDEX accounts_debtor_ref ON outreach.accounts (client_slug, debtor_ref)",
    """CREATE TABLE outreach.erased_debtors (
        client_slug text NOT NULL,
        debtor_ref uuid NOT NULL,
        erased_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, debtor_ref))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
