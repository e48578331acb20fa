"""Searching a client company's accounts: the typed text read every way it may be meant, then found in one query."""

from __future__ import annotations

from ingest.account_search import store
from ingest.account_search.domain import FoundAccount, read_query
from ingest.records import ClientCompany
from recaudo_common.db import Database


async def search(db: Database, client: ClientCompany, typed: str, *, after: str | None, limit: int
                 ) -> list[FoundAccount]:
    """The client company's accounts the text finds, by account reference, those after the reference `after`."""
    query = read_query(typed, country=client.country)
    if not query.reference:  # only spaces: every reference would begin with it
        return []
    async with db.transaction() as s:
        return await store.find_accounts(s, client.slug, query, after=after, limit=limit)


async def account(db: Database, client: str, account_ref: str) -> FoundAccount | None:
    """The client company's account by its exact reference (None when it never placed it)."""
    async with db.transaction() as s:
        return await store.one_account(s, client, account_ref)
