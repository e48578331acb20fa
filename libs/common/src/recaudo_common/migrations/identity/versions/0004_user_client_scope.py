"""A person of the agency (an operator, a supervisor, an agent) may be limited to some client companies, as an
operator key is (api_keys.client_scope): with none they see every client company, as before."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("ALTER TABLE identity.users ADD COLUMN client_scope text[],"
               " ADD CONSTRAINT users_scope_of_agency_staff CHECK (client_scope IS NULL"
               " OR (role IN ('operator', 'supervisor', 'agent') AND cardinality(client_scope) > 0))")
