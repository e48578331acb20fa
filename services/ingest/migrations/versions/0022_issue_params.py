"""A row issue keeps what its message says besides the code (which reason, its figures), so that the console and the
exports of es-* client companies say it in Spanish too (ingest.domain.issue_labels.spanish_detail). Issues kept
before have none: they are told by their code's meaning where their detail needs them."""

from alembic import op

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table, however many issues it holds.
    op.execute("ALTER TABLE ingest.row_issues ADD COLUMN params jsonb NOT NULL DEFAULT '{}'::jsonb")
