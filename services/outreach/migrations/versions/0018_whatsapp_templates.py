"""WhatsApp templates approved by Meta, per client company and locale (#20): the name and language Meta knows each
by, the variables that fill its body's parameters in order and the collection choice of each quick-reply button.
No personal data: the values are filled in at each send and kept nowhere here."""

from alembic import op

revision = "0018"
down_revision = "0017"

STATEMENTS = [
    """CREATE TABLE outreach.whatsapp_templates (
        client_slug text NOT NULL,
        locale text NOT NULL,
        name text NOT NULL,
        language text NOT NULL,
        parameters text[] NOT NULL,
        buttons text[] NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (client_slug, locale))""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
