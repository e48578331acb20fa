"""The outbox is vacuumed as the queue it is (see outbox_vacuum_ddl)."""

from alembic import op

from recaudo_common.outbox import outbox_vacuum_ddl

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute(outbox_vacuum_ddl("outreach"))
