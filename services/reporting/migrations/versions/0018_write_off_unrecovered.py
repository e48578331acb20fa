"""A reversed recovery (#22): a reversal that takes back money a payment had recovered on a written-off account
(payment.reversed v3's written_off_again) is kept as `unrecovered`: recovered after write-off is net of it, and the
money is written off again."""

from alembic import op

revision = "0018"
down_revision = "0017"

STATEMENTS = [
    "ALTER TABLE reporting.write_offs DROP CONSTRAINT write_offs_kind_check",
    """ALTER TABLE reporting.write_offs ADD CONSTRAINT write_offs_kind_check
        CHECK (kind IN ('written_off', 'recovered', 'reversed', 'unrecovered'))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
