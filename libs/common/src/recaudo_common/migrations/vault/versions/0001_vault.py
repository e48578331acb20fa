"""The vault: each person's wrapped data key, the blind-index lookups that find them, the erasures made."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("""CREATE TABLE vault.people (
        client_slug text NOT NULL,
        debtor_ref uuid PRIMARY KEY,
        wrapped_key bytea NOT NULL,
        master_key_id text NOT NULL,
        created_at timestamptz NOT NULL)""")
    op.execute("CREATE INDEX people_by_client ON vault.people (client_slug)")
    op.execute("""CREATE TABLE vault.lookups (
        client_slug text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('id_number', 'phone', 'email')),
        digest bytea NOT NULL,
        debtor_ref uuid NOT NULL REFERENCES vault.people (debtor_ref) ON DELETE CASCADE,
        PRIMARY KEY (client_slug, kind, digest))""")
    # The cascade from people deletes by debtor_ref: without this index each shred would scan every lookup.
    op.execute("CREATE INDEX lookups_by_person ON vault.lookups (debtor_ref)")
    op.execute("""CREATE TABLE vault.shredded (
        client_slug text NOT NULL,
        debtor_ref uuid PRIMARY KEY,
        shredded_at timestamptz NOT NULL,
        reason text NOT NULL)""")
