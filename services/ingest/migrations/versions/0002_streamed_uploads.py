"""Uploads stored in chunks (never whole in memory), resumable progress, mapping profiles, recalls."""

from alembic import op

revision = "0002"
down_revision = "0001"

STATEMENTS = [
    """CREATE TABLE ingest.portfolio_chunks (
        portfolio_id uuid NOT NULL REFERENCES ingest.portfolios (id),
        seq integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (portfolio_id, seq))""",
    "DROP TABLE ingest.portfolio_files",
    "ALTER TABLE ingest.portfolios ADD COLUMN rows_done integer NOT NULL DEFAULT 0",
    """CREATE TABLE ingest.mapping_profiles (
        client_slug text NOT NULL REFERENCES ingest.clients (slug),
        name text NOT NULL,
        mapping jsonb NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, name))""",
    """CREATE TABLE ingest.recalls (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL REFERENCES ingest.clients (slug),
        reason text,
        requested_at timestamptz NOT NULL,
        accounts_recalled integer NOT NULL,
        unknown_account_refs text[] NOT NULL,
        already_recalled integer NOT NULL)""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
