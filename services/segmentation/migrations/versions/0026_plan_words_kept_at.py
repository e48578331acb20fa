"""The words kept for an account not placed here yet can be dropped after the retention (segmentation.unplaced_words):
when each plan word was kept (plan_words.kept_at; those kept before this count from the migration), and the ledger's
word of an account paid before ledger_words existed, until then read at the placement from its latest payment's
outcome, made a ledger word (said now), so that the placement reads ledger_words alone and a word dropped is gone."""

from alembic import op

revision = "0026"
down_revision = "0025"


STATEMENTS = [
    "ALTER TABLE segmentation.plan_words ADD COLUMN IF NOT EXISTS kept_at timestamptz",
    "UPDATE segmentation.plan_words SET kept_at = now() WHERE kept_at IS NULL",
    "ALTER TABLE segmentation.plan_words ALTER COLUMN kept_at SET NOT NULL",
    """INSERT INTO segmentation.ledger_words (client_slug, account_ref, new_balance, account_status, said_at)
       SELECT DISTINCT ON (o.client_slug, o.account_ref) o.client_slug, o.account_ref, o.new_balance,
              o.account_status, now()
       FROM segmentation.outcomes o
       WHERE o.account_status IS NOT NULL AND o.new_balance IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM segmentation.accounts a
                         WHERE a.client_slug = o.client_slug AND a.account_ref = o.account_ref)
       ORDER BY o.client_slug, o.account_ref, o.paid_at DESC, o.ctid DESC
       ON CONFLICT (client_slug, account_ref) DO NOTHING"""]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
