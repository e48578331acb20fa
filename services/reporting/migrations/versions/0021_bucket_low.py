"""Each assignment in an account's bucket history keeps its bucket's first day past due (account.segmented v2),
so roll and cure rates order and class a client company's own buckets by their days, not by their labels."""

from alembic import op

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    # Nullable, no default: no rewrite of the table. The assignments recorded before say no bounds (v1 did not
    # carry them); month_end_states takes those from the latest assignment to the same label instead.
    op.execute("ALTER TABLE reporting.bucket_changes ADD COLUMN IF NOT EXISTS bucket_low integer")
