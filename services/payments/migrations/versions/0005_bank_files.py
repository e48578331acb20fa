"""Bank reconciliation files and their per-row results."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("""CREATE TABLE payments.bank_files (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        content_sha256 text NOT NULL,
        filename text,
        received_at timestamptz NOT NULL,
        counts jsonb NOT NULL,
        results jsonb NOT NULL,
        UNIQUE (client_slug, content_sha256))""")
