"""Bank files say their format, and a file refused whole (an Asobancaria 2001 file whose control totals disagree,
or malformed) is kept with the reason, so that the refusal can be read again later and the same file sent again
is refused again without being read (#21)."""

from alembic import op

revision = "0013"
down_revision = "0012"

STATEMENTS = [
    "ALTER TABLE payments.bank_files ADD COLUMN format text NOT NULL DEFAULT 'csv'",
    "ALTER TABLE payments.bank_files ADD COLUMN refusal jsonb",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
