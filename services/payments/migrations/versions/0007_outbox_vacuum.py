"""The outbox is vacuumed as the queue it is (see outbox_vacuum_ddl)."""

from alembic import op

from recaudo_common.outbox import outbox_vacuum_ddl

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.execute(outbox_vacuum_ddl("payments"))
