"""Which services hold their copy of each client company (client.ready): a registration is answered once every
service that keeps one has it, so the new client company is usable everywhere at once (#23)."""

from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.execute("""CREATE TABLE ingest.client_readiness (
        slug text NOT NULL REFERENCES ingest.clients (slug) ON DELETE CASCADE,
        service text NOT NULL,
        ready_at timestamptz NOT NULL,
        PRIMARY KEY (slug, service))""")
