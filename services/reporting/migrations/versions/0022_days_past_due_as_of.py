"""Each account keeps the day its days past due are for and whether they stand still from it (account.segmented
v2), so the account view shows today's days past due between the assignments the daily aging emits."""

from alembic import op

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    # Nullable, no default: no rewrite of the table. Accounts last segmented by an event that did not say them
    # (v1, or v2 before they were added) keep showing the days past due it said, as before.
    op.execute("ALTER TABLE reporting.accounts ADD COLUMN IF NOT EXISTS days_past_due_as_of date, "
               "ADD COLUMN IF NOT EXISTS aging_held boolean")
