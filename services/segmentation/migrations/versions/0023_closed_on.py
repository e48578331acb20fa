"""The client company's day an account closed (paid, settled, written off, recalled): its days past due stand still
from it (MISSION §5). Null while open, and for accounts closed before this column (they count to today, as before).
No default: no table rewrite."""

from alembic import op

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    op.execute("ALTER TABLE segmentation.accounts ADD COLUMN IF NOT EXISTS closed_on date")
