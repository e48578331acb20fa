"""Each client company's own cost table (#22): the cost of one contact on each channel, in its currency, carried by
client.* events to the services that price contacts (null: none set)."""

from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.clients ADD COLUMN cost_table jsonb")
