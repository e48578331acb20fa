"""A rejection's message no longer quotes the cell it is about (a slid row puts a surname, a phone or an e-mail where
an amount or a date goes, and the message outlived the raw cells' erasure and retention): the messages kept before
say which field instead ("'Pérez' is not a number in es-CO" becomes "the balance is not a number in es-CO")."""

from alembic import op

revision = "0021"
down_revision = "0020"

# A Python repr of the cell (single quotes, or double when it held one), then what ingest.domain.portfolio said of it.
QUOTED = r"""^('.*'|".*") (is not|gives) """
FIELDS = {"invalid_balance": "the balance", "invalid_due_date": "the due date",
          "invalid_days_past_due": "days past due", "invalid_currency": "the currency"}


def statement() -> str:
    field = "CASE code " + " ".join(f"WHEN '{code}' THEN '{said}'" for code, said in FIELDS.items()) + " END"
    quoted = QUOTED.replace("'", "''")
    codes = ", ".join(f"'{code}'" for code in FIELDS)
    return (f"UPDATE ingest.row_issues SET message = regexp_replace(message, '{quoted}', {field} || ' \\2 ') "
            f"WHERE code IN ({codes}) AND message ~ '{quoted}'")


def upgrade() -> None:
    op.execute(statement())
