"""The client copy gains the client company's discount limit."""

from alembic import op

from recaudo_common.client_copy import client_copy_upgrades

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    for statement in client_copy_upgrades("reporting"):
        op.execute(statement)
