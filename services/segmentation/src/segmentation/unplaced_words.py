"""Retention of the words kept for accounts not placed here yet (the ledger's, ledger_words; a plan's, plan_words):
dropped once the account's placement has not come within the retention after the last word said of it.

A word is kept because its event ran ahead of the account's placement on another topic; payments applies a payment,
and makes a plan, only on an account it placed from the same account.placed, so that placement is on its way to us,
late by our consumer's lag or by a dead letter waiting for an operator's replay (the dead-letter topics keep a letter
30 days, and up to 7 more before Kafka rolls its segment: SHORTEST_INBOX_RETENTION_DAYS). A word that outlives both has
no placement left to apply it; kept, it would stay for good. The words name an account, an amount, a status and a
day: no personal data (docs/data-protection.md), so a person's erasure has nothing to reach here."""

from __future__ import annotations

import datetime as dt
import logging

from recaudo_common.db import Database, sql, unnest_rows
from segmentation import account_locks

log = logging.getLogger("recaudo.segmentation")

ACCOUNTS_PER_PASS = 1000

# The accounts whose last word, of either kind, is older than :cutoff (a word said since keeps all of them: the
# placement must find the plan's hold with the ledger's word it goes with).
_STALE = """SELECT client_slug, account_ref FROM (
                SELECT client_slug, account_ref, said_at AS at FROM segmentation.ledger_words
                UNION ALL SELECT client_slug, account_ref, kept_at FROM segmentation.plan_words) w
            GROUP BY client_slug, account_ref HAVING max(at) < :cutoff
            ORDER BY client_slug, account_ref LIMIT :n"""
# The same, asked again with the accounts' locks held (a word may have committed meanwhile; a placement that did
# took its words), then both kinds of word of those still stale deleted. An account restated before its placement
# has its row here and still waits for the placement's ledger word (on_accounts_stated applies it to a placement
# only): its words go too, or every pass would find them again.
_FORGET = """WITH gone AS (
                SELECT i.client_slug, i.account_ref FROM {source}
                WHERE NOT EXISTS (SELECT 1 FROM segmentation.ledger_words w WHERE w.client_slug = i.client_slug
                                  AND w.account_ref = i.account_ref AND w.said_at >= :cutoff)
                  AND NOT EXISTS (SELECT 1 FROM segmentation.plan_words p WHERE p.client_slug = i.client_slug
                                  AND p.account_ref = i.account_ref AND p.kept_at >= :cutoff)),
            ledger AS (DELETE FROM segmentation.ledger_words w USING gone
                       WHERE w.client_slug = gone.client_slug AND w.account_ref = gone.account_ref),
            plans AS (DELETE FROM segmentation.plan_words p USING gone
                      WHERE p.client_slug = gone.client_slug AND p.account_ref = gone.account_ref)
            SELECT client_slug, count(*) FROM gone GROUP BY client_slug ORDER BY client_slug"""


async def forget_unplaced_words(db: Database, *, now: dt.datetime, retention: dt.timedelta,
                                accounts_per_pass: int = ACCOUNTS_PER_PASS) -> bool:
    """One pass: the words of up to `accounts_per_pass` accounts not placed here whose last word was kept more than
    `retention` before `now` are dropped, after the accounts' locks (account_locks: a placement under way is waited
    for, and takes them, or comes after and finds none; never half of them). True when more may wait."""
    cutoff = now - retention
    async with db.transaction() as s:
        stale = [(r.client_slug, r.account_ref) for r in await s.execute(
            sql(_STALE), {"cutoff": cutoff, "n": accounts_per_pass})]
        if not stale:
            return False
        await account_locks.lock_accounts(s, stale)
        source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, stale)
        dropped = (await s.execute(sql(_FORGET.format(source=source)), {**params, "cutoff": cutoff})).all()
    for client, count in dropped:
        # Each is a placement that never reached segmentation (a lost event, a dead letter never replayed).
        log.warning("client %s: dropped the ledger's or a plan's words kept for %d accounts whose placement has not "
                    "come in %s", client, count, retention)
    return len(stale) == accounts_per_pass
