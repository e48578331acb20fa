"""The inbox forgets what it applied long ago: a BRIN index on when, and each consumer's horizon
(recaudo_common.bus.inbox_retention)."""

from alembic import op

from recaudo_common.bus.inbox_retention import inbox_retention_ddl

revision = "0024"
down_revision = "0023"


def upgrade() -> None:
    for statement in inbox_retention_ddl("payments"):
        op.execute(statement)
