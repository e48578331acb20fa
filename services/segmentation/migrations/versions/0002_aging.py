"""Per-client bucket sets and the daily aging runs."""

from alembic import op

revision = "0002"
down_revision = "0001"

STATEMENTS = [
    """CREATE TABLE segmentation.bucket_sets (
        client_slug text PRIMARY KEY,
        version integer NOT NULL,
        buckets jsonb NOT NULL,
        updated_at timestamptz NOT NULL)""",
    """CREATE TABLE segmentation.aging_runs (
        client_slug text NOT NULL,
        day date NOT NULL,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        accounts_moved integer NOT NULL DEFAULT 0,
        PRIMARY KEY (client_slug, day))""",
    "CREATE INDEX accounts_open ON segmentation.accounts (client_slug, account_ref) WHERE status = 'open'",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
