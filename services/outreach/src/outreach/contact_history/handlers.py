"""An account's whole contact history: what was planned, decided and sent, what agents logged, its legal holds,
and the append-only audit trail behind it."""

from __future__ import annotations

from dataclasses import dataclass

from outreach import store
from outreach.contact_history import store as history
from outreach.store import TrailEntry
from recaudo_common.db import Database
from recaudo_common.domain_errors import NotFound


@dataclass(frozen=True)
class ContactHistory:
    attempts: list[history.AttemptRecord]
    logged: list[history.LoggedContact]
    legal_holds: list[history.LegalHold]
    trail: list[TrailEntry]
    locale: str | None


async def contact_history(db: Database, *, client: str, account_ref: str) -> ContactHistory:
    async with db.transaction() as s:
        if not await store.account_exists(s, client, account_ref):
            raise NotFound(f"account {account_ref!r}")
        return ContactHistory(await history.attempts(s, client, account_ref),
                              await history.logged_contacts(s, client, account_ref),
                              await history.legal_holds(s, client, account_ref),
                              await history.account_trail(s, client, account_ref),
                              await history.client_locale(s, client))
