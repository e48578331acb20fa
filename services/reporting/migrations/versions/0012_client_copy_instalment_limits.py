"""The client company's instalment limits (fewest and most instalments, smallest instalment) in this service's
copy of its settings (#21)."""

from alembic import op

from recaudo_common.client_copy import client_copy_upgrades

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    for statement in client_copy_upgrades("reporting"):
        op.execute(statement)
