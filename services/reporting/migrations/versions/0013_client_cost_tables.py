"""Each client company's own cost table (the cost of one contact per channel) beside this service's copy of its
settings, as client.* events carry it (#22): the report's contact cost and cost ratio price contacts with it."""

from alembic import op

from recaudo_common.cost_tables import cost_table_ddl

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.execute(cost_table_ddl("reporting"))
