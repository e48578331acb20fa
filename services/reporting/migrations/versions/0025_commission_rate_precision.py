"""A commission rate is kept exactly as the operator set it: numeric(6, 4) rounded 0.12345 (12.345 %) to 0.1235
without a word, so the commission was priced at a rate nobody set and the rates read back (and their ETag) were
not the ones written."""

from alembic import op

revision = "0025"
down_revision = "0024"


def upgrade() -> None:
    # Dropping the scale is binary coercible: no rewrite. The check (0 to 1) stays.
    op.execute("ALTER TABLE reporting.commission_rates ALTER COLUMN rate TYPE numeric")
