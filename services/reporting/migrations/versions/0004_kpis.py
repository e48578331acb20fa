"""The facts behind every KPI of MISSION §8: contacts, promises, bucket and status histories (for roll and
cure rates and liquidations), and commission rates per client company and bucket at placement."""

from alembic import op

revision = "0004"
down_revision = "0003"

STATEMENTS = [
    """CREATE TABLE reporting.contacts (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        channel text NOT NULL,
        at timestamptz NOT NULL,
        attempted boolean NOT NULL DEFAULT false,
        cost numeric(16, 4) NOT NULL DEFAULT 0,
        delivered boolean NOT NULL DEFAULT false,
        outcome text)""",
    "CREATE INDEX reporting_contacts_account ON reporting.contacts (client_slug, account_ref, at)",
    "CREATE INDEX reporting_contacts_client ON reporting.contacts (client_slug, at)",
    """CREATE TABLE reporting.promises (
        promise_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        amount numeric(16, 2),
        due_date date,
        made_at timestamptz,
        source text,
        result text CHECK (result IN ('kept', 'broken', 'cancelled')),
        decided_at timestamptz)""",
    "CREATE INDEX reporting_promises_client ON reporting.promises (client_slug, made_at)",
    """CREATE TABLE reporting.bucket_changes (
        event_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        at timestamptz NOT NULL,
        bucket text NOT NULL)""",
    "CREATE INDEX reporting_bucket_changes_account ON reporting.bucket_changes (client_slug, account_ref, at)",
    """CREATE TABLE reporting.status_changes (
        event_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        at timestamptz NOT NULL,
        status text NOT NULL)""",
    "CREATE INDEX reporting_status_changes_account ON reporting.status_changes (client_slug, account_ref, at)",
    """CREATE TABLE reporting.commission_rates (
        client_slug text NOT NULL,
        bucket text NOT NULL,
        rate numeric(6, 4) NOT NULL CHECK (rate >= 0 AND rate <= 1),
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, bucket))""",
    "CREATE INDEX reporting_accounts_client ON reporting.accounts (client_slug, placed_at)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
