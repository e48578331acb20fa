"""Contactable accounts, attempts, the decision audit trail, sandbox messages; client copy, outbox, inbox."""

from alembic import op

from recaudo_common.client_copy import client_copy_ddl
from recaudo_common.outbox import outbox_inbox_ddl

revision = "0001"
down_revision = None

TABLES = [
    """CREATE TABLE outreach.accounts (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        debtor_id text NOT NULL,
        phones text[] NOT NULL,
        email text,
        region text,
        balance numeric(16, 2) NOT NULL,
        currency text NOT NULL,
        authorised_channels text[] NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'settled', 'recalled')),
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, account_ref))""",
    """CREATE TABLE outreach.attempts (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        channel text NOT NULL,
        sequence integer NOT NULL,
        status text NOT NULL CHECK (status IN ('scheduled', 'sent', 'cancelled')),
        scheduled_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL,
        sent_at timestamptz,
        cancel_reason text,
        UNIQUE (client_slug, account_ref, channel, sequence))""",
    "CREATE INDEX attempts_due ON outreach.attempts (scheduled_at) WHERE status = 'scheduled'",
    """CREATE TABLE outreach.decisions (
        id bigserial PRIMARY KEY,
        attempt_id uuid NOT NULL REFERENCES outreach.attempts (id),
        decided_at timestamptz NOT NULL,
        local_time text NOT NULL,
        allowed boolean NOT NULL,
        reasons text[] NOT NULL,
        next_allowed_at timestamptz)""",
    """CREATE TABLE outreach.sandbox_messages (
        id uuid PRIMARY KEY,
        attempt_id uuid NOT NULL UNIQUE REFERENCES outreach.attempts (id),
        channel text NOT NULL,
        recipient text NOT NULL,
        body text NOT NULL,
        sent_at timestamptz NOT NULL)""",
]


def upgrade() -> None:
    for statement in TABLES + [client_copy_ddl("outreach")] + outbox_inbox_ddl("outreach"):
        op.execute(statement)
