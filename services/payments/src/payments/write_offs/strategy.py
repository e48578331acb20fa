"""The strategy's write-offs (#22): payments remembers which accounts segmentation's strategy does not pursue
(account.segmented with treatment do_not_pursue) and since when, and a periodic job writes off, reason uneconomic
and source strategy, those that have met the client company's rules (write_off_rules: so many days not pursued, at
least so many days past due). Bounded (a batch per transaction, SKIP LOCKED) and idempotent: a written-off account
is no longer open, so it is never picked again."""

from __future__ import annotations

import datetime as dt

from payments import store
from payments.write_offs.handlers import book_write_off
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import Database, sql
from recaudo_common.domain_errors import Conflict
from recaudo_common.events import AccountSegmented, ClientSettings
from recaudo_common.write_off_rules import keep_write_off_rules

DO_NOT_PURSUE = "do_not_pursue"  # segmentation's treatment for an account its strategy does not pursue
BATCH = 200


async def on_client(event: ClientSettings, ctx: HandlerContext) -> None:
    """After the client copy: the client company's write-off rules."""
    await keep_write_off_rules(ctx.session, store.SCHEMA, event, ctx)


async def on_segmented(event: AccountSegmented, ctx: HandlerContext) -> None:
    """Not pursued from the first decision that says so (a later one saying so again keeps that day); any other
    treatment pursues it again and forgets it. One decision is a batch of one (on_segmented_many's statements)."""
    await on_segmented_many([(event, ctx)])


async def on_segmented_many(events: list[tuple[AccountSegmented, HandlerContext]]) -> None:
    """on_segmented for a run of a fetched batch in two statements (#24: a bulk upload's decisions arrive by the
    thousand). The runtime never puts one account (one key) twice in a run, so each decision is its account's
    only one here and their order does not matter."""
    s = events[0][1].session
    pursued = [(ctx.envelope.client, e.account_ref) for e, ctx in events if e.treatment != DO_NOT_PURSUE]
    if pursued:
        await s.execute(sql(
            "DELETE FROM payments.not_pursued n USING unnest(CAST(:c AS text[]), CAST(:r AS text[])) AS f(c, r) "
            "WHERE n.client_slug = f.c AND n.account_ref = f.r"),
            {"c": [c for c, _ in pursued], "r": [r for _, r in pursued]})
    not_pursued = [(ctx.envelope.client, e.account_ref, ctx.envelope.occurred_at, e.days_past_due)
                   for e, ctx in events if e.treatment == DO_NOT_PURSUE]
    if not_pursued:
        await s.execute(sql(
            "INSERT INTO payments.not_pursued (client_slug, account_ref, since, days_past_due) "
            "SELECT * FROM unnest(CAST(:c AS text[]), CAST(:r AS text[]), CAST(:at AS timestamptz[]), "
            "CAST(:d AS int[])) ON CONFLICT DO NOTHING"),
            {"c": [n[0] for n in not_pursued], "r": [n[1] for n in not_pursued],
             "at": [n[2] for n in not_pursued], "d": [n[3] for n in not_pursued]})


async def write_off_due(db: Database, *, now: dt.datetime) -> int:
    """One batch: the open accounts not pursued for their client company's `after_days` and at least its
    `min_days_past_due` past due by now (the days past due when the strategy stopped, plus the days since), oldest
    first, each written off whole. One under an arrangement is left until the arrangement ends (kept, broken or
    cancelled). How many were written off."""
    written = 0
    async with db.transaction() as s:
        due = (await s.execute(sql(
            """SELECT n.client_slug, n.account_ref FROM payments.not_pursued n
               JOIN payments.client_write_off_rules r ON r.client_slug = n.client_slug AND r.after_days IS NOT NULL
               JOIN payments.accounts a ON a.client_slug = n.client_slug AND a.account_ref = n.account_ref
               WHERE a.status = 'open' AND NOT a.recalled AND a.balance > 0
                 AND NOT EXISTS (SELECT 1 FROM payments.arrangements ar WHERE ar.client_slug = n.client_slug
                                 AND ar.account_ref = n.account_ref AND ar.status = 'active')
                 AND n.since <= CAST(:now AS timestamptz) - make_interval(days => r.after_days)
                 AND n.days_past_due + floor(extract(epoch FROM CAST(:now AS timestamptz) - n.since) / 86400)
                     >= r.min_days_past_due
               ORDER BY n.since LIMIT :batch FOR UPDATE OF n SKIP LOCKED"""),
            {"now": now, "batch": BATCH})).all()
        # Locked all at once in key order, as a group commit of payments locks its accounts: one by one in the
        # order they were chosen, a batch and this could each hold an account the other waits for.
        await store.lock_accounts(s, sorted({(client, account_ref) for client, account_ref in due}))
        for client, account_ref in due:
            try:
                async with s.begin_nested():
                    await book_write_off(s, client=client, account_ref=account_ref, reason="uneconomic", note=None,
                                         amount=None, source="strategy", now=now)
                written += 1
            except Conflict:
                continue  # an arrangement was made on it meanwhile: not now
    return written
