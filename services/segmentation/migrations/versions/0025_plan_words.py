"""An instalment plan's hold and its end on an account not placed here yet (arrangement.* ran ahead of
account.placed): kept in the order they came, so the placement holds and releases the days past due as they would
have been had the account been here."""

from alembic import op

revision = "0025"
down_revision = "0024"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE IF NOT EXISTS segmentation.plan_words (
               id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
               client_slug text NOT NULL,
               account_ref text NOT NULL,
               day date NOT NULL,
               holds boolean NOT NULL)""")
    op.execute("CREATE INDEX IF NOT EXISTS plan_words_account "
               "ON segmentation.plan_words (client_slug, account_ref, id)")
