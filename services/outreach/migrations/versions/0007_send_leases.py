"""A send is claimed with a lease (claim token and expiry) so that exactly one replica holds it and a replica
whose lease expired can neither confirm nor resend; a send nobody can tell about is `unknown` for an operator."""

from alembic import op

revision = "0007"
down_revision = "0006"

STATEMENTS = [
    "ALTER TABLE outreach.attempts DROP CONSTRAINT attempts_status_check",
    """ALTER TABLE outreach.attempts
        ADD CONSTRAINT attempts_status_check CHECK (status IN ('scheduled', 'sending', 'sent', 'delivered',
            'failed', 'cancelled', 'assigned', 'unknown')),
        ADD COLUMN claim_token uuid,
        ADD COLUMN lease_until timestamptz,
        ADD COLUMN lookups integer NOT NULL DEFAULT 0""",
    # Sends left `sending` before leases existed are looked up at once.
    "UPDATE outreach.attempts SET lease_until = sending_since, claim_token = gen_random_uuid() "
    "WHERE status = 'sending'",
    "DROP INDEX IF EXISTS outreach.attempts_sending",
    "CREATE INDEX attempts_lease ON outreach.attempts (lease_until) WHERE status = 'sending'",
    "CREATE INDEX attempts_unknown ON outreach.attempts (client_slug, sending_since) WHERE status = 'unknown'",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
