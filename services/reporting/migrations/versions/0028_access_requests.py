"""Access requests that reach every service: each request, and each service's part (what it holds of the person,
sealed with their key), kept until the person is erased. Not derived from events: a rebuild neither replays nor
drops them. Run again over its own tables (a migration test rewinding the version), it changes nothing."""

from alembic import op

revision = "0028"
down_revision = "0027"

STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS reporting.access_requests (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        debtor_ref uuid NOT NULL,
        account_refs text[] NOT NULL,
        requested_at timestamptz NOT NULL,
        requested_by uuid,
        completed_at timestamptz)""",
    "CREATE INDEX IF NOT EXISTS access_requests_debtor ON reporting.access_requests (client_slug, debtor_ref)",
    """CREATE TABLE IF NOT EXISTS reporting.access_parts (
        access_id uuid NOT NULL REFERENCES reporting.access_requests (id),
        service text NOT NULL,
        part text,
        records integer NOT NULL,
        answered_at timestamptz NOT NULL,
        PRIMARY KEY (access_id, service))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
