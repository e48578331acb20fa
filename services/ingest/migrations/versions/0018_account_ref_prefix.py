"""Finding an account by its reference or the beginning of it, in any case (#23, the console's account search): an
index of the reference in capitals that LIKE 'PREFIX%' reads, so a search by reference, id number or phone is
three index reads OR'ed, never a scan of the client company's accounts (0017's indexes alone could not be used
while the reference's condition beside them needed a scan)."""

from alembic import op

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.execute("CREATE INDEX accounts_by_ref_prefix ON ingest.accounts "
               "(client_slug, upper(account_ref) text_pattern_ops)")
