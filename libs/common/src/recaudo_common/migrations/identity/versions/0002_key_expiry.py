"""API keys may expire, and a listing shows the last four characters of each key instead of its secret."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("ALTER TABLE identity.api_keys ADD COLUMN expires_at timestamptz, ADD COLUMN key_hint text")
