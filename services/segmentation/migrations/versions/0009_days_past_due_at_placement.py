"""The days past due the placing file stated (as of its `as_of`), kept apart from later restatements: the bucket at
placement is taken from it, as MISSION §8 says, not aged to the day the placement arrived."""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute("ALTER TABLE segmentation.accounts ADD COLUMN days_past_due_at_placement integer")
    # The best word on accounts placed before: what their latest file stated. Buckets at placement already
    # recorded stay as they were (reports were built from them).
    op.execute("UPDATE segmentation.accounts SET days_past_due_at_placement = days_past_due_at_as_of")
