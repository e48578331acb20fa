"""Who was handed an agent call and when (#23): the person (their user id, and their e-mail as the records of what
people do name them) or the key that asked /v1/agent/next for it."""

from alembic import op

revision = "0027"
down_revision = "0026"


def upgrade() -> None:
    op.execute("ALTER TABLE outreach.attempts ADD COLUMN assigned_at timestamptz, ADD COLUMN assigned_to_id uuid,"
               " ADD COLUMN assigned_to text")
