"""Experiments' arms beyond today's (#22): each contact keeps the best-time experiment's arm its attempt was planned
in (contact.attempted v2), and each assignment in the account's history keeps the strategy version and arm it was
made under, so an experiment can be read for a version that is no longer current."""

from alembic import op

revision = "0017"
down_revision = "0016"

STATEMENTS = [
    "ALTER TABLE reporting.contacts ADD COLUMN best_time_arm text",
    "ALTER TABLE reporting.bucket_changes ADD COLUMN strategy_version integer",
    "ALTER TABLE reporting.bucket_changes ADD COLUMN strategy_arm text",
    # What is known of the assignments before: each account's latest, from the account view.
    """UPDATE reporting.bucket_changes bc SET strategy_version = a.strategy_version, strategy_arm = a.strategy_arm
        FROM reporting.accounts a WHERE a.client_slug = bc.client_slug AND a.account_ref = bc.account_ref
          AND a.segmented_at = bc.at""",
    """CREATE INDEX bucket_changes_version ON reporting.bucket_changes (client_slug, strategy_version)
        WHERE strategy_version IS NOT NULL""",
    """CREATE INDEX contacts_best_time_arm ON reporting.contacts (client_slug, account_ref, at)
        WHERE best_time_arm IS NOT NULL""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
