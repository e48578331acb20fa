"""A re-segmentation request keeps the cause of the request that asked for it, so the worker's events carry it."""

from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.execute("ALTER TABLE segmentation.resegment_requests ADD COLUMN cause jsonb NOT NULL DEFAULT '{}'")
