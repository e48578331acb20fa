"""Personal data (#19): each account's pseudonymous debtor and the latest sealed copy of their data (ciphertext
only), legal holds, consent evidence and each attempt's template, all from events; and what no event gives, kept
apart from the read models so a rebuild never touches it: the access log, the erasures and their confirmations,
each client company's retention."""

from alembic import op

revision = "0009"
down_revision = "0008"

STATEMENTS = [
    "ALTER TABLE reporting.accounts ADD COLUMN debtor_ref uuid",
    "ALTER TABLE reporting.accounts ADD COLUMN personal text",
    "ALTER TABLE reporting.accounts ADD COLUMN personal_at timestamptz",
    "CREATE INDEX reporting_accounts_debtor ON reporting.accounts (client_slug, debtor_ref)",
    "ALTER TABLE reporting.contacts ADD COLUMN template text",
    """CREATE TABLE reporting.legal_holds (
        event_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        hold text NOT NULL,
        what text NOT NULL CHECK (what IN ('set', 'lifted')),
        at timestamptz NOT NULL)""",
    "CREATE INDEX reporting_legal_holds_account ON reporting.legal_holds (client_slug, account_ref, at)",
    """CREATE TABLE reporting.consents (
        event_id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        channel text NOT NULL,
        what text NOT NULL CHECK (what IN ('granted', 'withdrawn')),
        source text NOT NULL,
        recorded_at timestamptz NOT NULL,
        evidence uuid,
        text_version text)""",
    "CREATE INDEX reporting_consents_account ON reporting.consents (client_slug, account_ref, recorded_at)",
    # Not derived from events: never replayed by a rebuild, never dropped by one.
    """CREATE TABLE reporting.erasures (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        debtor_ref uuid NOT NULL,
        account_refs text[] NOT NULL,
        reason text NOT NULL CHECK (reason IN ('request', 'retention')),
        note text,
        status text NOT NULL CHECK (status IN ('in_progress', 'completed')),
        requested_at timestamptz NOT NULL,
        requested_by uuid,
        completed_at timestamptz)""",
    # One erasure at a time per person: a second request while one runs gets that one.
    "CREATE UNIQUE INDEX reporting_erasures_running ON reporting.erasures (client_slug, debtor_ref) "
    "WHERE status = 'in_progress'",
    "CREATE INDEX reporting_erasures_client ON reporting.erasures (client_slug, requested_at)",
    # Every placement and restatement asks whether its person's erasure has completed (their copy is then not kept).
    "CREATE INDEX reporting_erasures_debtor ON reporting.erasures (client_slug, debtor_ref)",
    """CREATE TABLE reporting.erasure_confirmations (
        erasure_id uuid NOT NULL REFERENCES reporting.erasures (id),
        service text NOT NULL,
        erased_rows integer NOT NULL,
        confirmed_at timestamptz NOT NULL,
        PRIMARY KEY (erasure_id, service))""",
    """CREATE TABLE reporting.access_log (
        id bigserial PRIMARY KEY,
        client_slug text NOT NULL,
        debtor_ref uuid NOT NULL,
        what text NOT NULL CHECK (what IN ('access', 'erasure')),
        by_key uuid,
        by_role text NOT NULL,
        at timestamptz NOT NULL)""",
    "CREATE INDEX reporting_access_log_debtor ON reporting.access_log (client_slug, debtor_ref, at)",
    """CREATE TABLE reporting.retention (
        client_slug text PRIMARY KEY,
        days_after_closure integer CHECK (days_after_closure >= 0),
        updated_at timestamptz NOT NULL)""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
