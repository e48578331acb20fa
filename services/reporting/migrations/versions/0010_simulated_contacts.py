"""Simulated contacts (#20): a contact the sandbox provider took (contact.attempted with simulated true) is recorded
like any other but never counted as a contact in the KPIs; contacts recorded before this are real or were
never told apart (the default)."""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute("ALTER TABLE reporting.contacts ADD COLUMN simulated boolean NOT NULL DEFAULT false")
