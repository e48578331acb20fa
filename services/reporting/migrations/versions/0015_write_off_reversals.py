"""A write-off's reversal (#22, payment.write_off_reversed) kept beside write-offs and recoveries: the report's
written_off is net of the reversals in its period."""

from alembic import op

revision = "0015"
down_revision = "0014"

STATEMENTS = [
    "ALTER TABLE reporting.write_offs DROP CONSTRAINT write_offs_kind_check",
    """ALTER TABLE reporting.write_offs ADD CONSTRAINT write_offs_kind_check
        CHECK (kind IN ('written_off', 'recovered', 'reversed'))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
