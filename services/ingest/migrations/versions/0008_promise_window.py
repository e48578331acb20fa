"""Each client company's promise window: how many days ahead a promise to pay may fall due (30 by default)."""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.clients ADD COLUMN promise_window_days integer NOT NULL DEFAULT 30 "
               "CHECK (promise_window_days BETWEEN 1 AND 365)")
