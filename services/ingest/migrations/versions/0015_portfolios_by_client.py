"""A client company's uploads newest first (`GET /v1/clients/{slug}/portfolios`, #23): read by keyset from this
index, never by scanning every upload of the platform."""

from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.execute("CREATE INDEX portfolios_by_client ON ingest.portfolios (client_slug, created_at DESC, id DESC)")
