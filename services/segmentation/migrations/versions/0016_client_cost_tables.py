"""Each client company's own cost table (the cost of one contact per channel) beside this service's copy of its
settings, as client.* events carry it (#22): cost to collect prices the treatment's contacts with it where it
prices the channel, before segmentation's own /costs."""

from alembic import op

from recaudo_common.cost_tables import cost_table_ddl

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.execute(cost_table_ddl("segmentation"))
