"""An upload remembers the trace of the request that brought it, so the worker's spans (and every event it
emits) continue that trace across all the services."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.portfolios ADD COLUMN trace_context jsonb NOT NULL DEFAULT '{}'")
