"""An attempt carries its plan's correlation: the events its send emits (contact.attempted, delivered, failed,
blocked) keep the correlation of the segmentation decision that planned it, with that plan as their cause."""

from alembic import op

revision = "0010"
down_revision = "0009"

STATEMENTS = [
    "ALTER TABLE outreach.treatments ADD COLUMN correlation_id uuid",
    "ALTER TABLE outreach.attempts ADD COLUMN correlation_id uuid",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
