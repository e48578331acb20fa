"""Finding an account by its debtor's id number as typed (dots, spaces, dashes) or by a phone (#23, the console's
account search): each read by an index of its compared spelling, never by scanning a client company's accounts.
A name is matched word by word within the client company's accounts (its primary key's prefix)."""

from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.execute("CREATE INDEX accounts_by_id_number ON ingest.accounts "
               "(client_slug, (regexp_replace(upper(debtor_id), '[^0-9A-Z]', '', 'g')))")
    op.execute("CREATE INDEX accounts_by_phone ON ingest.accounts USING gin ((stated -> 'phones'))")
