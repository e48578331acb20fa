"""Each client company's automatic write-off rules (#22): when what its strategy does not pursue is written off,
carried by client.* events to payments (null: never automatically)."""

from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.clients ADD COLUMN write_off_rules jsonb")
