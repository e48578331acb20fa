"""An instalment plan's word on an account not placed here yet: its hold (the day it was agreed) and its end (the day
it was kept or broken), kept in the order they came until the placement applies them (MISSION §5: an active plan
holds the days past due, however the topics ran ahead of each other)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql, unnest_rows
from segmentation import account_locks, store
from segmentation.rows import Account


async def arrangement_said(s: AsyncSession, client: str, account_ref: str, day: dt.date, *, made: bool, holds: bool,
                           now: dt.datetime) -> Account | None:
    """An arrangement made (`holds`: an instalment plan) or ended (kept or broken) on the client company's `day`:
    the account's days held from it or released at it, and the account (locked) returned; for an account not placed
    here yet (account_locks: none being placed meanwhile), the plan's word kept for its placement (at `now`: words of
    an account never placed go after the retention, unplaced_words), None returned."""
    await account_locks.lock_unplaced(s, [(client, account_ref)])
    if made:
        account = await store.hold_aging(s, client, account_ref, day) if holds else \
            await store.lock_account(s, client, account_ref)
    else:
        account = await store.release_aging(s, client, account_ref, day) or \
            await store.lock_account(s, client, account_ref)
    if account is None and (holds or not made):  # a settlement holds nothing; a plan's end releases what it held
        await keep(s, client, account_ref, day, holds=holds, now=now)
    return account


async def keep(s: AsyncSession, client: str, account_ref: str, day: dt.date, *, holds: bool, now: dt.datetime
               ) -> None:
    """A plan agreed (holds) or ended on `day`, the client company's, for an account not placed here yet (the caller
    holds account_locks' lock of it, so no placement is under way)."""
    await s.execute(sql("INSERT INTO segmentation.plan_words (client_slug, account_ref, day, holds, kept_at) "
                        "VALUES (:c, :r, :d, :h, :now)"),
                    {"c": client, "r": account_ref, "d": day, "h": holds, "now": now})


async def apply(s: AsyncSession, accounts: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Account]:
    """Holds and releases the days of the accounts just placed as their plans said before they were here, in the
    order said (store.hold_aging and release_aging, as if each had come after the placement), and forgets the words;
    the accounts so moved, by (client, account_ref). One round trip when no account has any (nearly always)."""
    if not accounts:
        return {}
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, list(accounts))
    words = (await s.execute(sql(
        f"DELETE FROM segmentation.plan_words w USING (SELECT DISTINCT * FROM {source}) i "
        "WHERE w.client_slug = i.client_slug AND w.account_ref = i.account_ref "
        "RETURNING w.id, w.client_slug, w.account_ref, w.day, w.holds"), params)).all()
    moved: dict[tuple[str, str], Account] = {}
    for _, client, ref, day, holds in sorted(words):
        account = await store.hold_aging(s, client, ref, day) if holds else \
            await store.release_aging(s, client, ref, day)
        if account is not None:
            moved[(client, ref)] = account
    return moved
