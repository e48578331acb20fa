"""Versioned strategies (with an optional challenger), per-client channel costs, re-segmentation requests."""

from alembic import op

revision = "0003"
down_revision = "0002"

STATEMENTS = [
    """CREATE TABLE segmentation.strategies (
        client_slug text NOT NULL,
        version integer NOT NULL,
        body jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, version))""",
    """CREATE TABLE segmentation.channel_costs (
        client_slug text PRIMARY KEY,
        costs jsonb NOT NULL,
        updated_at timestamptz NOT NULL)""",
    """CREATE TABLE segmentation.resegment_requests (
        id bigserial PRIMARY KEY,
        client_slug text NOT NULL,
        reason text NOT NULL,
        requested_at timestamptz NOT NULL,
        done_at timestamptz)""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
