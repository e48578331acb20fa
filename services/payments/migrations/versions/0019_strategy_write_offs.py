"""The strategy's write-offs (#22): each client company's write-off rules as client.* events carry them, and the
accounts segmentation's strategy does not pursue (treatment do_not_pursue), since when and how many days past due
they were then; account references and numbers only."""

from alembic import op

from recaudo_common.write_off_rules import write_off_rules_ddl

revision = "0019"
down_revision = "0018"

STATEMENTS = [
    write_off_rules_ddl("payments"),
    """CREATE TABLE payments.not_pursued (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        since timestamptz NOT NULL,
        days_past_due integer NOT NULL,
        PRIMARY KEY (client_slug, account_ref))""",
    "CREATE INDEX not_pursued_since ON payments.not_pursued (since)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
