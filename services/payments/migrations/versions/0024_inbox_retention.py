"""The inbox forgets what it applied long ago: its rows by consumer and time, built without blocking the consumers'
writes, and how far each consumer has forgotten (recaudo_common.bus.inbox_retention)."""

from alembic import op

from recaudo_common.bus.inbox_retention import INBOX_BY_TIME, inbox_horizon_ddl
from recaudo_common.migrate import create_index_concurrently

revision = "0024"
down_revision = "0023"


def upgrade() -> None:
    op.execute(inbox_horizon_ddl("payments"))
    name, definition = INBOX_BY_TIME
    create_index_concurrently(name, "payments", f"payments.{definition}")
