"""A model's promotion no longer marks the client company's accounts unmeasured (0020's way: one UPDATE of every
scorable account in the promotion's transaction, a million row locks and rewrites at 1,000,000 accounts while the
client's event handlers waited on them). Each promotion takes a number, each measure keeps the number of the
promotion whose model made it, and the scoring pass finds those measured under an older one in an index."""

from alembic import op

from recaudo_common.migrate import create_index_concurrently

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    # One sequence for every client company: only the order of a client's numbers matters, and a sequence never
    # hands out a number twice, whatever trainings of the same client company promote at once.
    op.execute("CREATE SEQUENCE IF NOT EXISTS segmentation.model_promotions")
    op.execute("ALTER TABLE segmentation.models ADD COLUMN IF NOT EXISTS promotion bigint")
    # The models promoted so far share number 0, and so does every measure kept so far (a constant default: no
    # table rewrite): 0020 and the promotions since left no measured account on another model than the one in use.
    # segmentation.models holds a few rows per client company.
    op.execute("UPDATE segmentation.models SET promotion = 0 WHERE promoted AND promotion IS NULL")
    op.execute("ALTER TABLE segmentation.accounts ADD COLUMN IF NOT EXISTS scored_promotion bigint NOT NULL DEFAULT 0")
    # The measured, scorable accounts by the promotion they were measured under: the pass reads those before the
    # one in use and stops where they end. CONCURRENTLY: the table holds every placed account.
    create_index_concurrently(
        "accounts_scoring_promotion", "segmentation",
        "segmentation.accounts (client_slug, scored_promotion, account_ref) "
        "WHERE status = 'open' AND bucket IS NOT NULL AND scored_at IS NOT NULL")
