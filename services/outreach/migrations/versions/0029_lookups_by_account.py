"""Indexes for look-ups that read a whole table (each found by EXPLAIN on 57,000-200,000 rows): an address a mail
server refused for good, taken off every account that has it (in the send's transaction: 73 ms), an account's
contacts (the contact history, and each erasure: 43-61 ms), and a reply's attempt (each erasure: 17 ms)."""

from recaudo_common.migrate import create_index_concurrently

revision = "0029"
down_revision = "0028"


def upgrade() -> None:
    # CONCURRENTLY: accounts, contacts and replies grow with the portfolio and its outreach.
    create_index_concurrently("accounts_email", "outreach",
                              "outreach.accounts (client_slug, lower(email)) WHERE email IS NOT NULL")
    create_index_concurrently("contacts_account", "outreach", "outreach.contacts (client_slug, account_ref, at)")
    create_index_concurrently("replies_attempt", "outreach", "outreach.replies (attempt_id)")
