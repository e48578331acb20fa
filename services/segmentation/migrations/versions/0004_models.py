"""Observed outcomes (payments) and the propensity models trained on them."""

from alembic import op

revision = "0004"
down_revision = "0003"

STATEMENTS = [
    """CREATE TABLE segmentation.outcomes (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        paid_at timestamptz NOT NULL,
        amount numeric(16, 2) NOT NULL)""",
    "CREATE INDEX outcomes_account ON segmentation.outcomes (client_slug, account_ref, paid_at)",
    """CREATE TABLE segmentation.models (
        client_slug text NOT NULL,
        version text NOT NULL,
        body jsonb NOT NULL,
        holdout_auc numeric(6, 4) NOT NULL,
        samples integer NOT NULL,
        trained_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, version))""",
    "CREATE INDEX models_latest ON segmentation.models (client_slug, trained_at DESC)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
