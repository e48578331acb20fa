"""Named users of the console (people.py), their sessions (sessions.py) and the OpenID Connect sign-ins under way
(oidc.py): each secret is kept only as a hash."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("""CREATE TABLE identity.users (
        id uuid PRIMARY KEY,
        email text NOT NULL,
        role text NOT NULL CHECK (role IN ('operator', 'supervisor', 'agent', 'client', 'sre')),
        client_slug text,
        password_hash text,
        totp_secret text,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        disabled_at timestamptz,
        password_changed_at timestamptz,
        CHECK ((role = 'client') = (client_slug IS NOT NULL)))""")
    # One user per e-mail, whatever its case.
    op.execute("CREATE UNIQUE INDEX users_email ON identity.users (lower(email))")
    op.execute("CREATE INDEX users_listing ON identity.users (created_at DESC, id DESC)")
    op.execute("""CREATE TABLE identity.sessions (
        id uuid PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        user_id uuid NOT NULL REFERENCES identity.users (id),
        signed_in_by text NOT NULL CHECK (signed_in_by IN ('password', 'oidc')),
        created_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        idle_s integer NOT NULL CHECK (idle_s > 0),
        revoked_at timestamptz)""")
    op.execute("CREATE INDEX sessions_of_user ON identity.sessions (user_id) WHERE revoked_at IS NULL")
    op.execute("""CREATE TABLE identity.oidc_requests (
        state_hash text PRIMARY KEY,
        provider text NOT NULL,
        nonce text NOT NULL,
        code_verifier text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL)""")
