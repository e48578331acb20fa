"""Each client company's instalment limits (#21): the fewest and most instalments a plan may have (2 to 12 by
default, never outside them) and the smallest instalment (0: none)."""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.clients ADD COLUMN instalments_min integer NOT NULL DEFAULT 2 "
               "CHECK (instalments_min BETWEEN 2 AND 12), "
               "ADD COLUMN instalments_max integer NOT NULL DEFAULT 12 CHECK (instalments_max BETWEEN 2 AND 12), "
               "ADD COLUMN min_instalment_amount numeric(18, 2) NOT NULL DEFAULT 0 CHECK (min_instalment_amount >= 0), "
               "ADD CONSTRAINT clients_instalments_range CHECK (instalments_min <= instalments_max)")
