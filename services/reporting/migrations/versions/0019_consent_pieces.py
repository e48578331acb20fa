"""Consent evidence in one event per account (#24): contact.consents_recorded carries an account's pieces, one per
channel, so a piece is its event and its place in it (`piece`; 0 for a contact.consent_recorded, one per event)."""

from alembic import op

revision = "0019"
down_revision = "0018"

STATEMENTS = [
    "ALTER TABLE reporting.consents ADD COLUMN piece smallint NOT NULL DEFAULT 0",
    "ALTER TABLE reporting.consents DROP CONSTRAINT consents_pkey",
    "ALTER TABLE reporting.consents ADD PRIMARY KEY (event_id, piece)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
