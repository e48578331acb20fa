"""Who started a contact: `outbound` (the agency, every attempt and most contacts agents log) or `inbound` (the
debtor phoned or wrote, an agent logged it). The contact law limits only the contacts the collector starts."""

from alembic import op

revision = "0032"
down_revision = "0031"


def upgrade() -> None:
    # A constant default adds no table rewrite; the check is NOT VALID so adding it reads no row (every row it
    # would read holds the default), and new rows are checked all the same.
    op.execute("ALTER TABLE outreach.contacts ADD COLUMN direction text NOT NULL DEFAULT 'outbound'")
    op.execute("ALTER TABLE outreach.contacts ADD CONSTRAINT contacts_direction_check "
               "CHECK (direction IN ('outbound', 'inbound')) NOT VALID")
