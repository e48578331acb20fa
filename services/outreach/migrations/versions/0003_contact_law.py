"""The full contact law: treatments and cadences, account status apart from placement (events commute), the
contact history the engine counts, opt-outs, do-not-contact, legal holds, per-client rules and templates,
providers' receipts, and an append-only audit trail."""

from alembic import op

revision = "0003"
down_revision = "0002"

STATEMENTS = [
    "ALTER TABLE outreach.accounts ADD COLUMN full_name text NOT NULL DEFAULT '', ADD COLUMN address text",
    """CREATE TABLE outreach.account_status (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        status text NOT NULL CHECK (status IN ('open', 'paid', 'settled', 'recalled')),
        balance numeric(16, 2),
        as_of timestamptz NOT NULL,
        PRIMARY KEY (client_slug, account_ref))""",
    """INSERT INTO outreach.account_status (client_slug, account_ref, status, balance, as_of)
       SELECT client_slug, account_ref, status, balance, updated_at FROM outreach.accounts""",
    "ALTER TABLE outreach.accounts DROP COLUMN status",
    """CREATE TABLE outreach.treatments (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        plan_id uuid NOT NULL,
        segment text NOT NULL,
        treatment text NOT NULL,
        channels text[] NOT NULL,
        cadence_days integer,
        offer text,
        offer_discount_pct numeric(5, 2),
        expected_net_recovery numeric(16, 2) NOT NULL,
        propensity numeric(6, 4) NOT NULL,
        days_past_due integer NOT NULL,
        strategy_arm text NOT NULL,
        decided_at timestamptz NOT NULL,
        planned boolean NOT NULL DEFAULT false,
        PRIMARY KEY (client_slug, account_ref))""",
    "ALTER TABLE outreach.attempts DROP CONSTRAINT attempts_client_slug_account_ref_channel_sequence_key",
    "ALTER TABLE outreach.attempts DROP CONSTRAINT attempts_status_check",
    """ALTER TABLE outreach.attempts
        ADD CONSTRAINT attempts_status_check CHECK (status IN ('scheduled', 'sending', 'sent', 'delivered',
            'failed', 'cancelled', 'assigned')),
        ADD COLUMN plan_id uuid,
        ADD COLUMN provider text,
        ADD COLUMN provider_message_id text,
        ADD COLUMN template text,
        ADD COLUMN encoding text,
        ADD COLUMN segments integer,
        ADD COLUMN tries integer NOT NULL DEFAULT 0,
        ADD COLUMN sending_since timestamptz,
        ADD COLUMN delivered_at timestamptz,
        ADD COLUMN failed_at timestamptz,
        ADD COLUMN failure text,
        ADD CONSTRAINT attempts_plan_sequence UNIQUE (plan_id, sequence)""",
    "CREATE INDEX attempts_account ON outreach.attempts (client_slug, account_ref)",
    "CREATE INDEX attempts_sending ON outreach.attempts (sending_since) WHERE status = 'sending'",
    "CREATE UNIQUE INDEX attempts_provider_message ON outreach.attempts (provider, provider_message_id)",
    """CREATE TABLE outreach.contacts (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        debtor_id text NOT NULL,
        account_ref text NOT NULL,
        channel text NOT NULL,
        at timestamptz NOT NULL,
        source text NOT NULL CHECK (source IN ('attempt', 'logged')),
        attempt_id uuid UNIQUE,
        outcome text,
        conversation boolean NOT NULL DEFAULT false,
        rule_violations text[] NOT NULL DEFAULT '{}',
        logged_by uuid)""",
    "CREATE INDEX contacts_debtor ON outreach.contacts (client_slug, debtor_id, at)",
    """CREATE TABLE outreach.opt_outs (
        client_slug text NOT NULL,
        debtor_id text NOT NULL,
        channel text NOT NULL,
        opted_out_at timestamptz NOT NULL,
        source text NOT NULL,
        PRIMARY KEY (client_slug, debtor_id, channel))""",
    """CREATE TABLE outreach.do_not_contact (
        client_slug text NOT NULL,
        debtor_id text NOT NULL,
        reason text NOT NULL,
        added_at timestamptz NOT NULL,
        added_by uuid,
        PRIMARY KEY (client_slug, debtor_id))""",
    """CREATE TABLE outreach.legal_holds (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        hold text NOT NULL CHECK (hold IN ('dispute', 'deceased', 'insolvency', 'litigation')),
        note text,
        set_at timestamptz NOT NULL,
        set_by uuid,
        lifted_at timestamptz,
        lifted_by uuid)""",
    """CREATE UNIQUE INDEX legal_holds_active ON outreach.legal_holds (client_slug, account_ref, hold)
        WHERE lifted_at IS NULL""",
    """CREATE TABLE outreach.client_rules (
        client_slug text PRIMARY KEY,
        rules jsonb NOT NULL,
        updated_at timestamptz NOT NULL)""",
    """CREATE TABLE outreach.templates (
        client_slug text NOT NULL,
        channel text NOT NULL,
        locale text NOT NULL,
        subject text,
        body text NOT NULL,
        version integer NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, channel, locale))""",
    """CREATE TABLE outreach.replies (
        id uuid PRIMARY KEY,
        provider text NOT NULL,
        provider_message_id text NOT NULL,
        attempt_id uuid,
        channel text NOT NULL,
        body text NOT NULL,
        opt_out boolean NOT NULL,
        received_at timestamptz NOT NULL,
        UNIQUE (provider, provider_message_id))""",
    "ALTER TABLE outreach.sandbox_messages ADD COLUMN subject text",
    # What is being sent, kept so a send a crash interrupted can be repeated word for word.
    """CREATE TABLE outreach.outgoing (
        attempt_id uuid PRIMARY KEY REFERENCES outreach.attempts (id),
        recipient text NOT NULL,
        subject text,
        body text NOT NULL)""",
    "CREATE INDEX outgoing_recipient ON outreach.outgoing (recipient)",
    """CREATE TABLE outreach.trail (
        id bigserial PRIMARY KEY,
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        at timestamptz NOT NULL,
        kind text NOT NULL,
        attempt_id uuid,
        channel text,
        detail jsonb NOT NULL DEFAULT '{}')""",
    "CREATE INDEX trail_account ON outreach.trail (client_slug, account_ref, id)",
    # The audit trail and the decisions are evidence: the database itself refuses to change or delete them.
    """CREATE FUNCTION outreach.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'outreach.% is append-only', TG_TABLE_NAME; END $$""",
    """CREATE TRIGGER trail_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON outreach.trail
       FOR EACH STATEMENT EXECUTE FUNCTION outreach.refuse_change()""",
    """CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON outreach.decisions
       FOR EACH STATEMENT EXECUTE FUNCTION outreach.refuse_change()""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
