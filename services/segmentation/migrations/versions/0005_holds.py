"""Instalment plans hold aging; legal holds stop treatment."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("ALTER TABLE segmentation.accounts ADD COLUMN held_since date")
    op.execute("ALTER TABLE segmentation.accounts ADD COLUMN legal_hold text")
