"""How many times the worker has started an upload without getting further, and the last unexpected error: an
upload that keeps failing (or killing its worker) is set aside as failed instead of being retried forever."""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.portfolios ADD COLUMN attempts int NOT NULL DEFAULT 0, "
               "ADD COLUMN last_error text")
