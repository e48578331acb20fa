"""Withdrawn contacts: an agent call handed out (contact.attempted) and then withdrawn before it was made
(contact.withdrawn) is kept as withdrawn, so that an attempt arriving after its withdrawal counts no more than
one before it. Contacts recorded before this were never withdrawn (the default). Run again, it changes nothing."""

from alembic import op

revision = "0029"
down_revision = "0028"


def upgrade() -> None:
    op.execute("ALTER TABLE reporting.contacts ADD COLUMN IF NOT EXISTS withdrawn boolean NOT NULL DEFAULT false")
