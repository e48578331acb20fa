"""The day a treatment's days past due are for, and whether they stand still from it (account.segmented v2): a
message, the debtor page and the agent desk say today's days past due, not those of the account's last assignment
(segmentation's daily aging emits only when the bucket changes)."""

from alembic import op

revision = "0030"
down_revision = "0029"


def upgrade() -> None:
    # Nullable, no default: no table rewrite; a treatment decided before them shows its days as said.
    op.execute("ALTER TABLE outreach.treatments ADD COLUMN dpd_as_of date, ADD COLUMN aging_held boolean")
