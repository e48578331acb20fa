"""The ledger's latest word on each account's balance and status, kept apart from the account view so that a
payment, a reversal or a write-off that reaches reporting before the account's placement is not lost: the
placement then starts from it (a reversal or write-off before the placement used to be, the placement taking the
last payment's balance instead)."""

from alembic import op

revision = "0016"
down_revision = "0015"

STATEMENTS = [
    """CREATE TABLE reporting.ledger_words (
        client_slug text NOT NULL,
        account_ref text NOT NULL,
        balance numeric NOT NULL,
        status text NOT NULL,
        PRIMARY KEY (client_slug, account_ref))""",
    # What was known so far: the account view where the account is placed, else its last payment's word.
    """INSERT INTO reporting.ledger_words (client_slug, account_ref, balance, status)
        SELECT client_slug, account_ref, balance, status FROM reporting.accounts
        WHERE EXISTS (SELECT 1 FROM reporting.payments p WHERE p.client_slug = accounts.client_slug
                      AND p.account_ref = accounts.account_ref)
        ON CONFLICT DO NOTHING""",
    """INSERT INTO reporting.ledger_words (client_slug, account_ref, balance, status)
        SELECT DISTINCT ON (client_slug, account_ref) client_slug, account_ref, new_balance, account_status
        FROM reporting.payments WHERE new_balance IS NOT NULL AND account_status IS NOT NULL
        ORDER BY client_slug, account_ref, applied_at DESC, paid_at DESC
        ON CONFLICT DO NOTHING""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
