"""Personal data's duties in ingest (#19): an erased person's accounts keep no id number; an upload remembers
when the raw cells of its rejected rows and warnings were blanked by retention; the rectifications record who
corrected whose contact points and why (append-only, never the values)."""

from alembic import op

revision = "0010"
down_revision = "0009"

STATEMENTS = [
    "ALTER TABLE ingest.accounts ALTER COLUMN debtor_id DROP NOT NULL",
    "ALTER TABLE ingest.portfolios ADD COLUMN raw_cells_expired_at timestamptz",
    # Retention looks for finished uploads whose raw cells are still kept: few, once the backlog is done.
    """CREATE INDEX portfolios_raw_cells_kept ON ingest.portfolios (finished_at)
        WHERE raw_cells_expired_at IS NULL AND finished_at IS NOT NULL""",
    """CREATE TABLE ingest.rectifications (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL REFERENCES ingest.clients (slug),
        debtor_ref uuid NOT NULL,
        account_refs text[] NOT NULL,
        fields text[] NOT NULL CHECK (fields <@ ARRAY['phones', 'email', 'address']),
        rectified_by text NOT NULL,
        reason text NOT NULL,
        rectified_at timestamptz NOT NULL)""",
    "CREATE INDEX rectifications_by_debtor ON ingest.rectifications (client_slug, debtor_ref, rectified_at)",
    # The record of rectifications is evidence: the database itself refuses to change or delete it.
    """CREATE FUNCTION ingest.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'ingest.% is append-only', TG_TABLE_NAME; END $$""",
    """CREATE TRIGGER rectifications_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ingest.rectifications
       FOR EACH STATEMENT EXECUTE FUNCTION ingest.refuse_change()""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
