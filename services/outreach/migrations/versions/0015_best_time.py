"""The best time to contact (#20): the learned windows per client company, segment, channel, local weekday and
hour (a rate and the messages it was learned from; nothing about a person), a client company's switch to turn
best time off (the first allowed slot, as before), and why an attempt was put at its time."""

from alembic import op

revision = "0015"
down_revision = "0014"

STATEMENTS = [
    """CREATE TABLE outreach.best_time_windows (
        client_slug text NOT NULL,
        segment text NOT NULL,
        channel text NOT NULL,
        dow smallint NOT NULL CHECK (dow BETWEEN 0 AND 6),
        hour smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
        rate double precision NOT NULL CHECK (rate BETWEEN 0 AND 1),
        n integer NOT NULL CHECK (n >= 0),
        learned_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, segment, channel, dow, hour))""",
    """CREATE TABLE outreach.best_time_clients (
        client_slug text PRIMARY KEY,
        enabled boolean NOT NULL,
        updated_at timestamptz NOT NULL)""",
    "ALTER TABLE outreach.attempts ADD COLUMN why text",
    # The learner reads the messages sent over its lookback.
    "CREATE INDEX attempts_sent_at ON outreach.attempts (sent_at) WHERE sent_at IS NOT NULL",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
