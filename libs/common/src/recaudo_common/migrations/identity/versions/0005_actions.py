"""What each person or key did (#23, "every action a user takes is recorded with the user's name"): every change
asked of the API, by whom, to which client company and account, and what it answered (recaudo_common.actions)."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("""CREATE TABLE identity.actions (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        role text NOT NULL,
        service text NOT NULL,
        method text NOT NULL,
        route text NOT NULL,
        client_slug text,
        account_ref text,
        status integer NOT NULL,
        request_id text NOT NULL)""")
    op.execute("CREATE INDEX actions_by_client ON identity.actions (client_slug, id DESC)")
    op.execute("CREATE INDEX actions_by_actor ON identity.actions (actor, id DESC)")
