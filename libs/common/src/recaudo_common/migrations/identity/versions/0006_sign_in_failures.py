"""Failed console sign-ins kept in PostgreSQL, so every replica of the unit that mounts identity counts the same ones:
each process counted its own, and N replicas let a guesser try N times as often. A try is counted before its
password is checked, and taken back (by id) when the password was right. An e-mail or an address is kept
only as a keyed digest (recaudo_common.console.sign_in_failures); rows older than the window are pruned."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("""CREATE TABLE identity.sign_in_failures (
        id bigserial PRIMARY KEY,
        key bytea NOT NULL,
        failed_at timestamptz NOT NULL)""")
    op.execute("CREATE INDEX sign_in_failures_by_key ON identity.sign_in_failures (key, failed_at DESC)")
    op.execute("CREATE INDEX sign_in_failures_by_age ON identity.sign_in_failures (failed_at)")
