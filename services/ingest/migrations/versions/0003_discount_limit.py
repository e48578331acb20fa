"""Each client company's largest allowed settlement discount."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.clients ADD COLUMN max_discount_pct numeric(5, 2) NOT NULL DEFAULT 40")
