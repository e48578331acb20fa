"""E-mail (#20): a one-click unsubscribe (RFC 8058) is consent evidence of its own source, 'unsubscribe'; and the
contact points a mail server refused for good (a 5xx "no such mailbox" at RCPT TO), kept by client company so
that no later file or restatement brings them back into use. They hold an address and the id number of the
person it was on file for: outreach's erasure deletes them with the person."""

from alembic import op

revision = "0016"
down_revision = "0015"

STATEMENTS = [
    "ALTER TABLE outreach.consent_evidence DROP CONSTRAINT consent_evidence_source_check",
    """ALTER TABLE outreach.consent_evidence ADD CONSTRAINT consent_evidence_source_check
       CHECK (source IN ('client_file', 'debtor_page', 'reply', 'operator', 'unsubscribe'))""",
    """CREATE TABLE outreach.invalid_contact_points (
        client_slug text NOT NULL,
        channel text NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp', 'voice', 'letter')),
        point text NOT NULL,
        debtor_id text NOT NULL,
        found_at timestamptz NOT NULL,
        attempt_id uuid,
        PRIMARY KEY (client_slug, channel, point))""",
    "CREATE INDEX invalid_contact_points_debtor ON outreach.invalid_contact_points (client_slug, debtor_id)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
