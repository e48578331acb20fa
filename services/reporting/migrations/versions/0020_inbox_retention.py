"""The inbox forgets what it applied long ago (recaudo_common.migrate.inbox_retention)."""

from recaudo_common.migrate import inbox_retention

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    inbox_retention("reporting")
