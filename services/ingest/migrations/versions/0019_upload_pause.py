"""A large upload paused between batches says so on its record (#24, the bulk lane): the family of events whose
readers it waits for (account, contact) and since when, so the API and the console show why its progress stands
still; cleared when it goes on."""

from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.portfolios ADD COLUMN paused_for text, ADD COLUMN paused_since timestamptz")
