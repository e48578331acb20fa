"""The per-account advisory locks on which segmentation's placements and the ledger's events of accounts not placed
here yet meet, so that two workers handling them at once never both miss the other."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql, unnest_rows
from recaudo_common.events import (
    AccountPlaced,
    AccountUpdated,
    ArrangementBroken,
    ArrangementKept,
    ArrangementMade,
    Envelope,
    Event,
    PaymentAdjusted,
    PaymentApplied,
    PaymentReversed,
    PaymentWriteOffReversed,
    PaymentWrittenOff,
)

# A placement and a ledger event of an account not placed here yet meet on one of these advisory locks (by the
# account's hash; payments meets its own placements the same way): a placement holds its accounts' locks shared from
# before it upserts them, a ledger event takes exclusive the locks of the accounts it does not find before it looks
# for them. Under read committed each statement sees what committed before it began, so either the ledger's event
# finds the account or the placement finds the ledger's word it kept; never neither.
ACCOUNT_LOCKS = 64  # a power of two: the lock is the hash's low bits
_ACCOUNT_LOCK_SPACE = 7_211_031
_LOCKED_IN_ORDER = """SELECT {lock}(:space, k) FROM (
           SELECT DISTINCT hashtext(i.client_slug || '/' || i.account_ref) & :mask AS k FROM {source} {where}
           ORDER BY k OFFSET 0) held"""


async def share_account_locks(s: AsyncSession, accounts: Sequence[tuple[str, str]]) -> None:
    """Held until commit by a transaction that places (or restates) these accounts: shared, so placements never wait
    for each other, only for a ledger event of an account they place."""
    if not accounts:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, list(accounts))
    await s.execute(sql(_LOCKED_IN_ORDER.format(lock="pg_advisory_xact_lock_shared", source=source, where="")),
                    {**params, "space": _ACCOUNT_LOCK_SPACE, "mask": ACCOUNT_LOCKS - 1})


async def lock_unplaced(s: AsyncSession, accounts: Sequence[tuple[str, str]]) -> None:
    """Waits for any transaction placing those of these accounts not placed here yet to commit, and keeps new ones
    out until this one does: the statements after it find the accounts placed meanwhile (taken before any row lock,
    in key order, as placements take theirs, so the two never wait on each other in a cycle)."""
    if not accounts:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, list(accounts))
    await s.execute(sql(_LOCKED_IN_ORDER.format(
        lock="pg_advisory_xact_lock", source=source,
        where="WHERE NOT EXISTS (SELECT 1 FROM segmentation.accounts a "
              "WHERE a.client_slug = i.client_slug AND a.account_ref = i.account_ref)")),
        {**params, "space": _ACCOUNT_LOCK_SPACE, "mask": ACCOUNT_LOCKS - 1})


async def lock_accounts(s: AsyncSession, accounts: Sequence[tuple[str, str]]) -> None:
    """As lock_unplaced, for these accounts whether placed here or not (the retention of their words,
    unplaced_words: an account a restatement made a row for still waits for its placement)."""
    if not accounts:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, list(accounts))
    await s.execute(sql(_LOCKED_IN_ORDER.format(lock="pg_advisory_xact_lock", source=source, where="")),
                    {**params, "space": _ACCOUNT_LOCK_SPACE, "mask": ACCOUNT_LOCKS - 1})


_PLACING = (AccountPlaced, AccountUpdated)  # share_account_locks
_LOOKING = (PaymentApplied, PaymentReversed, PaymentWrittenOff, PaymentWriteOffReversed, PaymentAdjusted,
            ArrangementMade, ArrangementKept, ArrangementBroken)  # lock_unplaced
_BATCH_LOCKED = """SELECT CASE WHEN x THEN pg_advisory_xact_lock(:space, k) ELSE pg_advisory_xact_lock_shared(:space, k)
           END FROM (
           SELECT hashtext(i.client_slug || '/' || i.account_ref) & :mask AS k, bool_or(i.looks) AS x
           FROM {source} WHERE NOT i.looks OR NOT EXISTS (SELECT 1 FROM segmentation.accounts a
                                                          WHERE a.client_slug = i.client_slug
                                                            AND a.account_ref = i.account_ref)
           GROUP BY 1 ORDER BY 1 OFFSET 0) held"""


async def lock_batch(s: AsyncSession, events: Sequence[tuple[Event, Envelope]]) -> None:
    """The locks a batch's runs will take one after another (a placements' run shared, then a payments' run
    exclusive, ...), all at the batch's start in one statement, in key order, each in the strongest mode the batch
    asks it in (Subscriptions.batch_locks): two workers' batches that each place an account the other's pays then
    wait for each other instead of deadlocking. An account placed earlier in the batch is found by its later events
    (its lock is shared)."""
    wanted: dict[tuple[str, str], bool] = {}  # account -> whether it is looked for before the batch places it
    for event, envelope in events:
        account = (envelope.client, getattr(event, "account_ref", ""))
        if isinstance(event, _PLACING):
            wanted.setdefault(account, False)
        elif isinstance(event, _LOOKING):
            wanted.setdefault(account, True)
    if not wanted:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "looks": "boolean"},
                                 [(client, ref, looks) for (client, ref), looks in wanted.items()])
    await s.execute(sql(_BATCH_LOCKED.format(source=source)),
                    {**params, "space": _ACCOUNT_LOCK_SPACE, "mask": ACCOUNT_LOCKS - 1})
