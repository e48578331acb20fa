"""Write-offs (#22): each write-off (payment.written_off) and each recovery after one (payment.write_off_recovered),
amounts and instants only, for the recovery report's written-off figures."""

from alembic import op

revision = "0014"
down_revision = "0013"

STATEMENTS = [
    """CREATE TABLE reporting.write_offs (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('written_off', 'recovered')),
        amount numeric(16, 2) NOT NULL,
        at timestamptz NOT NULL)""",
    "CREATE INDEX write_offs_client_at ON reporting.write_offs (client_slug, at)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
