"""Consent evidence per account and channel: granted or withdrawn, by which source (the client's file, the debtor
page, a reply, an operator), when, on what reference and which text. Append-only like the audit trail, and with
no room for a contact point: the reference is a uuid (a portfolio, an attempt, a key) and a text's version a
short name. The withdrawals made before it are recorded from the opt-outs and the do-not-contact list."""

from alembic import op

revision = "0011"
down_revision = "0010"

STATEMENTS = [
    """CREATE TABLE outreach.consent_evidence (
        id bigserial PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        channel text NOT NULL CHECK (channel IN ('sms', 'email', 'whatsapp', 'voice', 'agent', 'letter')),
        what text NOT NULL CHECK (what IN ('granted', 'withdrawn')),
        source text NOT NULL CHECK (source IN ('client_file', 'debtor_page', 'reply', 'operator')),
        recorded_at timestamptz NOT NULL,
        evidence uuid NOT NULL,
        text_version text CHECK (text_version ~ '^[a-z][a-z0-9._-]{0,63}$'))""",
    "CREATE INDEX consent_evidence_account ON outreach.consent_evidence (client_slug, account_ref, channel, id)",
    # A debtor's accounts at a client company (an opt-out reaches all of them; a new one inherits withdrawals).
    "CREATE INDEX IF NOT EXISTS accounts_debtor ON outreach.accounts (client_slug, debtor_id)",
    # Evidence of an authorisation is only evidence if nobody can rewrite it afterwards.
    """CREATE TRIGGER consent_evidence_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
       ON outreach.consent_evidence FOR EACH STATEMENT EXECUTE FUNCTION outreach.refuse_change()""",
]

# The withdrawals made before this record existed, with the references still at hand: a do-not-contact's key
# (every channel, on each of the debtor's accounts) and a reply opt-out's first STOP reply's attempt. Grants
# cannot be: the portfolio of a placement was not kept here, so an account's next restatement records them.
BACKFILL = """
    INSERT INTO outreach.consent_evidence (client_slug, account_ref, channel, what, source, recorded_at, evidence)
    SELECT client_slug, account_ref, channel, 'withdrawn', source, recorded_at, evidence FROM (
        SELECT acc.client_slug, acc.account_ref, o.channel, 'reply' AS source, o.opted_out_at AS recorded_at,
               r.attempt_id AS evidence
        FROM outreach.opt_outs o
        JOIN outreach.accounts acc ON acc.client_slug = o.client_slug AND acc.debtor_id = o.debtor_id
        CROSS JOIN LATERAL (
            SELECT r.attempt_id FROM outreach.replies r
            JOIN outreach.attempts a ON a.id = r.attempt_id
            JOIN outreach.accounts x ON x.client_slug = a.client_slug AND x.account_ref = a.account_ref
            WHERE r.opt_out AND r.channel = o.channel AND x.client_slug = o.client_slug
              AND x.debtor_id = o.debtor_id
            ORDER BY r.received_at, r.id LIMIT 1) r
        WHERE o.source = 'reply'
        UNION ALL
        SELECT acc.client_slug, acc.account_ref, ch.channel, 'operator', d.added_at, d.added_by
        FROM outreach.do_not_contact d
        JOIN outreach.accounts acc ON acc.client_slug = d.client_slug AND acc.debtor_id = d.debtor_id
        CROSS JOIN unnest(ARRAY['sms', 'email', 'whatsapp', 'voice', 'agent', 'letter']) AS ch (channel)
        WHERE d.added_by IS NOT NULL) earlier
    ORDER BY recorded_at, client_slug, account_ref, channel"""


def upgrade() -> None:
    for statement in [*STATEMENTS, BACKFILL]:
        op.execute(statement)
