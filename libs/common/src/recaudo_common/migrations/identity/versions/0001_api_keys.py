"""API keys of the identity component."""

from alembic import op

from recaudo_common.auth import IDENTITY_DDL

revision = "0001"
down_revision = None


def upgrade() -> None:
    for statement in IDENTITY_DDL[1:]:
        op.execute(statement)
