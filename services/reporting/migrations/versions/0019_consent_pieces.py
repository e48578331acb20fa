"""Consent evidence in one event per account (#24): contact.consents_recorded carries an account's pieces, one per
channel, so a piece is its event and its place in it (`piece`; 0 for a contact.consent_recorded, one per event)."""

from alembic import op

from recaudo_common.migrate import create_index_concurrently

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    # A constant default: no rewrite of the table, only a moment's lock.
    op.execute("ALTER TABLE reporting.consents ADD COLUMN IF NOT EXISTS piece smallint NOT NULL DEFAULT 0")
    # The new key's index built CONCURRENTLY: reporting.consents holds a row per channel of every placed account,
    # and ADD PRIMARY KEY would build it holding reporting's consumers and access answers for as long as that takes.
    create_index_concurrently("consents_event_piece", "reporting", "reporting.consents (event_id, piece)",
                              unique=True)
    op.execute("ALTER TABLE reporting.consents DROP CONSTRAINT consents_pkey, "
               "ADD CONSTRAINT consents_pkey PRIMARY KEY USING INDEX consents_event_piece")
