"""The client company's promise window in this service's copy of its settings."""

from alembic import op

from recaudo_common.client_copy import client_copy_upgrades

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    for statement in client_copy_upgrades("segmentation"):
        op.execute(statement)
