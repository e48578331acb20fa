"""The embedded transport's log and consumer-group offsets."""

from alembic import op

from recaudo_common.bus.postgres import BUS_DDL

revision = "0001"
down_revision = None


def upgrade() -> None:
    for statement in BUS_DDL[1:]:
        op.execute(statement)
