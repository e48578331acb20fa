"""Outcomes keep the ledger's balance and status, so a placement that arrives after its payments applies them."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("ALTER TABLE segmentation.outcomes ADD COLUMN new_balance numeric(16, 2)")
    op.execute("ALTER TABLE segmentation.outcomes ADD COLUMN account_status text")
