"""WhatsApp Business Cloud API per client company (#20): its channel (the secrets sealed at rest, never in clear)
and the debtors' inbound messages (their number and words, which outreach's erasure reaches); the accounts'
phones indexed, so an inbound number is matched within its client company without reading them all."""

from alembic import op

from recaudo_common.migrate import create_index_concurrently

revision = "0017"
down_revision = "0016"

STATEMENTS = [
    """CREATE TABLE outreach.whatsapp_channels (
        client_slug text PRIMARY KEY,
        phone_number_id text NOT NULL,
        access_token text NOT NULL,
        app_secret text NOT NULL,
        verify_token text NOT NULL,
        api_base_url text NOT NULL,
        api_version text NOT NULL,
        webhook_id text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL)""",
    """CREATE TABLE outreach.whatsapp_inbound (
        id uuid PRIMARY KEY,
        client_slug text NOT NULL,
        provider_message_id text NOT NULL,
        sender text NOT NULL,
        account_refs text[] NOT NULL,
        attempt_id uuid,
        kind text NOT NULL,
        body text NOT NULL,
        reply_id text,
        meaning text NOT NULL CHECK (meaning IN ('opt_out', 'pay', 'arrange', 'dispute', 'agent')),
        answer text,
        answered_at timestamptz,
        handled_at timestamptz,
        received_at timestamptz NOT NULL,
        UNIQUE (client_slug, provider_message_id))""",
    "CREATE INDEX whatsapp_inbound_open ON outreach.whatsapp_inbound (client_slug, received_at) "
    "WHERE meaning = 'agent' AND handled_at IS NULL",
    "CREATE INDEX whatsapp_inbound_sender ON outreach.whatsapp_inbound (client_slug, sender)",
    "CREATE INDEX whatsapp_inbound_accounts ON outreach.whatsapp_inbound USING gin (account_refs)",
]


def upgrade() -> None:
    # First, and CONCURRENTLY: outreach.accounts holds every placed account, and a plain CREATE INDEX would hold
    # planning's writes for as long as the build takes. Built again whole if the migration runs again.
    create_index_concurrently("accounts_phones", "outreach", "outreach.accounts USING gin (phones)")
    for statement in STATEMENTS:
        op.execute(statement)
