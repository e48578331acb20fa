"""The inbox forgets what it applied long ago (recaudo_common.migrate.inbox_retention)."""

from recaudo_common.migrate import inbox_retention

revision = "0028"
down_revision = "0027"


def upgrade() -> None:
    inbox_retention("outreach")
