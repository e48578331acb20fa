"""Best time as an experiment (#22): a client company may run best time against the first allowed slot (its share
of accounts in the best_time arm), and each attempt planned while it runs keeps the arm its account fell in."""

from alembic import op

revision = "0026"
down_revision = "0025"

STATEMENTS = [
    "ALTER TABLE outreach.best_time_clients ADD COLUMN experiment boolean NOT NULL DEFAULT false",
    """ALTER TABLE outreach.best_time_clients ADD COLUMN best_time_share double precision NOT NULL DEFAULT 0.5
        CHECK (best_time_share > 0 AND best_time_share < 1)""",
    """ALTER TABLE outreach.attempts ADD COLUMN best_time_arm text
        CHECK (best_time_arm IN ('best_time', 'first_slot'))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
