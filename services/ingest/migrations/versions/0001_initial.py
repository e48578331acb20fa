"""Client companies, portfolio uploads, accounts, rejections and warnings; outbox and inbox."""

from alembic import op

from recaudo_common.outbox import outbox_inbox_ddl

revision = "0001"
down_revision = None

TABLES = [
    """CREATE TABLE ingest.clients (
        slug text PRIMARY KEY,
        name text NOT NULL,
        country text NOT NULL,
        currency text NOT NULL,
        timezone text NOT NULL,
        locale text NOT NULL,
        default_authorised_channels text[] NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL)""",
    """CREATE TABLE ingest.portfolios (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL REFERENCES ingest.clients (slug),
        status text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
        filename text,
        content_sha256 text NOT NULL,
        params_sha256 text NOT NULL,
        params jsonb NOT NULL,
        size_bytes bigint NOT NULL,
        as_of date NOT NULL,
        rows_total integer NOT NULL DEFAULT 0,
        rows_accepted integer NOT NULL DEFAULT 0,
        rows_rejected integer NOT NULL DEFAULT 0,
        rows_with_warnings integer NOT NULL DEFAULT 0,
        counts_by_code jsonb NOT NULL DEFAULT '{}',
        progress numeric NOT NULL DEFAULT 0,
        error_code text,
        error_detail jsonb,
        created_at timestamptz NOT NULL,
        started_at timestamptz,
        finished_at timestamptz)""",
    """CREATE UNIQUE INDEX portfolios_same_upload ON ingest.portfolios (client_slug, content_sha256, params_sha256)
        WHERE status <> 'failed'""",
    "CREATE INDEX portfolios_pending ON ingest.portfolios (created_at) WHERE status IN ('queued', 'processing')",
    """CREATE TABLE ingest.portfolio_files (
        portfolio_id uuid PRIMARY KEY REFERENCES ingest.portfolios (id),
        content bytea NOT NULL)""",
    """CREATE TABLE ingest.accounts (
        client_slug text NOT NULL REFERENCES ingest.clients (slug),
        account_ref text NOT NULL,
        debtor_id text NOT NULL,
        balance numeric(16, 2) NOT NULL,
        days_past_due integer NOT NULL,
        as_of date NOT NULL,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'recalled')),
        stated jsonb NOT NULL,
        placed_portfolio_id uuid NOT NULL,
        last_portfolio_id uuid NOT NULL,
        placed_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        recalled_at timestamptz,
        PRIMARY KEY (client_slug, account_ref))""",
    """CREATE TABLE ingest.row_issues (
        id bigserial PRIMARY KEY,
        portfolio_id uuid NOT NULL REFERENCES ingest.portfolios (id),
        kind text NOT NULL CHECK (kind IN ('rejection', 'warning')),
        row_number integer NOT NULL,
        field text NOT NULL,
        code text NOT NULL,
        message text NOT NULL,
        raw jsonb NOT NULL)""",
    "CREATE INDEX row_issues_portfolio ON ingest.row_issues (portfolio_id, kind, id)",
]


def upgrade() -> None:
    for statement in TABLES + outbox_inbox_ddl("ingest"):
        op.execute(statement)
