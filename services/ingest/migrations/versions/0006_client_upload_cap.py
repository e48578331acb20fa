"""A client company's own cap on a portfolio file: it may only lower the platform's."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.clients ADD COLUMN max_upload_bytes bigint CHECK (max_upload_bytes > 0)")
