"""Indexes for look-ups that read a client company's whole table (found by EXPLAIN): the recovery report's
"written off and not reversed since" asks, for each write-off, whether its account's write-off was reversed after
it, which walked every write-off of the client each time (72 s at 20,000 write-offs; 0.1 s with this); and what is
held about a person reads their accounts' promises (73 ms at 120,000 promises of the client)."""

from recaudo_common.migrate import create_index_concurrently

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    # CONCURRENTLY: both grow with the portfolio. A rebuild's tables are LIKE these, INCLUDING ALL: they get them.
    create_index_concurrently("write_offs_reversed", "reporting",
                              "reporting.write_offs (client_slug, account_ref, at) WHERE kind = 'reversed'")
    create_index_concurrently("reporting_promises_account", "reporting",
                              "reporting.promises (client_slug, account_ref)")
