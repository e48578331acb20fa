"""The best times to contact in the account view (#20): each client company's best slots per segment and channel
as outreach last announced them (contact.best_times_learned), and when they were learned. No personal data."""

from alembic import op

revision = "0011"
down_revision = "0010"

STATEMENTS = [
    """CREATE TABLE reporting.best_time_learnings (
        client_slug text PRIMARY KEY,
        learned_at timestamptz NOT NULL)""",
    """CREATE TABLE reporting.best_times (
        client_slug text NOT NULL,
        segment text NOT NULL,
        channel text NOT NULL,
        rank smallint NOT NULL CHECK (rank >= 1),
        dow smallint NOT NULL CHECK (dow BETWEEN 0 AND 6),
        hour smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
        label text NOT NULL,
        rate numeric(5, 4) NOT NULL,
        n integer NOT NULL,
        PRIMARY KEY (client_slug, segment, channel, rank))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
