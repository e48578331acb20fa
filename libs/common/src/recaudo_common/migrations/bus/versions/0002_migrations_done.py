"""Data migrations of the log that run in Python (they need the vault's keys), each marked done once."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("CREATE TABLE IF NOT EXISTS bus.migrations_done (name text PRIMARY KEY, done_at timestamptz NOT NULL)")
