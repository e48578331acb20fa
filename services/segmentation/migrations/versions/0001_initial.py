"""Accounts as segmentation sees them, and every assignment with its reasons; client copy, outbox, inbox."""

from alembic import op

from recaudo_common.client_copy import client_copy_ddl
from recaudo_common.outbox import outbox_inbox_ddl

revision = "0001"
down_revision = None

TABLES = [
    """CREATE TABLE segmentation.accounts (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        balance numeric(16, 2) NOT NULL,
        days_past_due_at_as_of integer NOT NULL,
        as_of date NOT NULL,
        contactable boolean NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'settled', 'recalled')),
        bucket text,
        bucket_at_placement text,
        segment text,
        treatment text,
        propensity numeric(6, 4),
        cost_to_collect numeric(16, 4),
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, account_ref))""",
    """CREATE TABLE segmentation.assignments (
        id bigserial PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        assigned_at timestamptz NOT NULL,
        trigger text NOT NULL,
        days_past_due integer NOT NULL,
        bucket text NOT NULL,
        segment text NOT NULL,
        treatment text NOT NULL,
        propensity numeric(6, 4) NOT NULL,
        cost_to_collect numeric(16, 4) NOT NULL,
        inputs jsonb NOT NULL,
        why text NOT NULL)""",
    "CREATE INDEX assignments_account ON segmentation.assignments (client_slug, account_ref, id)",
]


def upgrade() -> None:
    for statement in TABLES + [client_copy_ddl("segmentation")] + outbox_inbox_ddl("segmentation"):
        op.execute(statement)
