"""The account's own history (payments, promises, contacts) the propensity model reads, what the scoring batch
measured of each account, boosted models (a card and a skops artifact, promoted or not) and training runs (#22)."""

from alembic import op

revision = "0013"
down_revision = "0012"

STATEMENTS = [
    """CREATE TABLE segmentation.account_facts (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        at timestamptz NOT NULL,
        kind text NOT NULL CHECK (kind IN ('payment', 'reversal', 'settled', 'promise_made', 'promise_kept',
            'promise_broken', 'delivered', 'failed', 'logged', 'opted_out')),
        channel text,
        amount numeric(16, 2) NOT NULL DEFAULT 0,
        detail text,
        closes boolean NOT NULL DEFAULT false)""",
    "CREATE INDEX account_facts_account ON segmentation.account_facts (client_slug, account_ref, at)",
    "ALTER TABLE segmentation.accounts ADD COLUMN product text, ADD COLUMN scoring text, "
    "ADD COLUMN scored_at timestamptz",
    "CREATE INDEX accounts_to_score ON segmentation.accounts (client_slug, scored_at) WHERE status = 'open'",
    "ALTER TABLE segmentation.models ADD COLUMN kind text NOT NULL DEFAULT 'logistic_regression', "
    "ADD COLUMN artifact bytea, ADD COLUMN promoted boolean NOT NULL DEFAULT true",
    """CREATE TABLE segmentation.model_trainings (
        id bigserial PRIMARY KEY,
        client_slug text NOT NULL,
        requested_at timestamptz NOT NULL,
        requested_by text NOT NULL,
        started_at timestamptz,
        finished_at timestamptz,
        outcome text CHECK (outcome IN ('promoted', 'not_promoted', 'not_enough_history', 'failed')),
        detail text,
        version text,
        holdout_auc numeric(6, 4),
        competitor text,
        competitor_auc numeric(6, 4))""",
    "CREATE INDEX model_trainings_pending ON segmentation.model_trainings (id) WHERE started_at IS NULL",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
