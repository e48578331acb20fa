"""The debtor page's verification counters: per account page (link) and per source address, each updated by
one atomic statement."""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute("""CREATE TABLE outreach.page_link_guards (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        failures integer NOT NULL,
        locked_until timestamptz,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, account_ref))""")
    op.execute("""CREATE TABLE outreach.page_source_guards (
        source text PRIMARY KEY,
        failures integer NOT NULL,
        locked_until timestamptz,
        updated_at timestamptz NOT NULL)""")
