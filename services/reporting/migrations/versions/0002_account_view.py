"""The account view: segmentation's latest assignment and the ledger's latest state, from events."""

from alembic import op

revision = "0002"
down_revision = "0001"

STATEMENTS = [
    "ALTER TABLE reporting.accounts ADD COLUMN days_past_due integer",
    "ALTER TABLE reporting.accounts ADD COLUMN treatment text",
    "ALTER TABLE reporting.accounts ADD COLUMN channels text[]",
    "ALTER TABLE reporting.accounts ADD COLUMN propensity numeric(6, 4)",
    "ALTER TABLE reporting.accounts ADD COLUMN cost_to_collect numeric(16, 4)",
    "ALTER TABLE reporting.accounts ADD COLUMN expected_net_recovery numeric(16, 2)",
    "ALTER TABLE reporting.accounts ADD COLUMN value_tier text",
    "ALTER TABLE reporting.accounts ADD COLUMN strategy_version integer",
    "ALTER TABLE reporting.accounts ADD COLUMN strategy_arm text",
    "ALTER TABLE reporting.accounts ADD COLUMN model_version text",
    "ALTER TABLE reporting.accounts ADD COLUMN offer text",
    "ALTER TABLE reporting.accounts ADD COLUMN why text",
    "ALTER TABLE reporting.accounts ADD COLUMN segmented_at timestamptz",
    "ALTER TABLE reporting.payments ADD COLUMN new_balance numeric(16, 2)",
    "ALTER TABLE reporting.payments ADD COLUMN account_status text",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
