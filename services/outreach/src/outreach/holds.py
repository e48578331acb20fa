"""The collection hold (domain/collection_holds.py) as outreach keeps it: the promises on each account, from
promise.made and payments' verdicts in whichever order and however often they come, and the attempts a hold
postponed, decided again as soon as the promise or the arrangement that held them ends."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.collection_holds import PROMISE_PENDING
from outreach.store import TrailEntry, trail
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import sql, unnest_rows
from recaudo_common.events import PromiseBroken, PromiseCancelled, PromiseKept, PromiseMade, PromiseReopened

PromiseEvent = PromiseMade | PromiseKept | PromiseBroken | PromiseCancelled | PromiseReopened


async def on_promise(event: PromiseEvent, ctx: HandlerContext) -> None:
    """A promise made holds its account while pending; its verdict (the latest by its instant, whichever came
    first) ends the hold, or a reopening starts it again. Redelivered, nothing changes."""
    s, client = ctx.session, ctx.envelope.client
    if isinstance(event, PromiseMade):
        await s.execute(sql(
            "INSERT INTO outreach.promises (promise_id, client_slug, account_ref, due_date, made_at) "
            "VALUES (:id, :c, :r, :due, :made) ON CONFLICT (promise_id) DO UPDATE SET due_date = excluded.due_date, "
            "made_at = excluded.made_at"),
            {"id": event.promise_id, "c": client, "r": event.account_ref, "due": event.due_date,
             "made": event.made_at})
        return
    verdict, at = (("kept", event.kept_at) if isinstance(event, PromiseKept)
                   else ("broken", event.broken_at) if isinstance(event, PromiseBroken)
                   else ("cancelled", event.cancelled_at) if isinstance(event, PromiseCancelled)
                   else ("reopened", event.reopened_at))
    changed = await s.execute(sql(
        "INSERT INTO outreach.promises (promise_id, client_slug, account_ref, verdict, verdict_at) "
        "VALUES (:id, :c, :r, :v, :at) ON CONFLICT (promise_id) DO UPDATE SET verdict = excluded.verdict, "
        "verdict_at = excluded.verdict_at "
        "WHERE promises.verdict_at IS NULL OR promises.verdict_at < excluded.verdict_at RETURNING 1"),
        {"id": event.promise_id, "c": client, "r": event.account_ref, "v": verdict, "at": at})
    if changed.first() is not None and verdict != "reopened":
        await release(s, client, event.account_ref, PROMISE_PENDING, ctx.now)


@dataclass(frozen=True)
class Moved:
    """An attempt a hold moved, and where it waits now."""

    client: str
    account_ref: str
    attempt_id: uuid.UUID
    channel: str
    scheduled_at: dt.datetime


# An account's collection attempts not sent yet, every channel's (a payment's confirmation is no collection: it goes),
# each account's found by account alone, as planning.store.defer_scheduled finds them (its note says why).
_TO_COME = """SELECT id, scheduled_at FROM outreach.attempts a
              WHERE a.client_slug = k.client_slug AND a.account_ref = k.account_ref AND a.status = 'scheduled'
                AND a.confirmation IS NULL"""


async def postpone(s: AsyncSession, held: Sequence[tuple[str, str, dt.datetime]]) -> list[Moved]:
    """For rows of (client, account_ref, until) (of an account's rows, the latest `until` counts): each account's
    collection attempts not sent yet moved all by the same whole number of days, their spacing and their hour (best
    time's) kept, so the first comes no sooner than `until`: a hold postpones the plan, it does not pile its touches
    up at its end. Attempts another claim holds are left to it (it decides them under the same hold); what moved is
    returned."""
    if not held:
        return []
    latest: dict[tuple[str, str], dt.datetime] = {}
    for client, account_ref, until in held:
        latest[(client, account_ref)] = max(until, latest.get((client, account_ref), until))
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "until": "timestamptz"},
                                 [(c, r, until) for (c, r), until in latest.items()], alias="k")
    rows = await s.execute(sql(
        f"""WITH due AS (
               SELECT x.id, k.until, min(x.scheduled_at) OVER (PARTITION BY k.client_slug, k.account_ref) AS first_at
               FROM {source} CROSS JOIN LATERAL ({_TO_COME} ORDER BY a.id FOR UPDATE OF a SKIP LOCKED) x)
           UPDATE outreach.attempts a SET scheduled_at = a.scheduled_at + make_interval(
               days => CAST(ceil(extract(epoch FROM due.until - due.first_at) / 86400) AS integer))
           FROM due WHERE a.id = due.id AND due.first_at < due.until
           RETURNING a.client_slug, a.account_ref, a.id, a.channel, a.scheduled_at"""), params)
    return [Moved(r.client_slug, r.account_ref, r.id, r.channel, r.scheduled_at) for r in rows]


async def postponed(s: AsyncSession, held: Sequence[tuple[str, str, dt.datetime, str]], now: dt.datetime) -> None:
    """postpone for rows of (client, account_ref, until, the hold's reason), with the trail's word on each attempt
    moved."""
    why = {(c, r): reason for c, r, _, reason in held}
    moved = await postpone(s, [(c, r, until) for c, r, until, _ in held])
    await trail(s, [TrailEntry(m.client, m.account_ref, now, "rescheduled", m.attempt_id, m.channel, {
        "reason": why[(m.client, m.account_ref)], "scheduled_at": m.scheduled_at.isoformat()}) for m in moved])


async def release(s: AsyncSession, client: str, account_ref: str, reason: str, now: dt.datetime) -> None:
    """The account's collection attempts a hold for `reason` postponed (the last decision on one of them held it so)
    moved back by the same whole number of days, so the first comes within a day from `now` at its hour: decided
    then as any due attempt (another hold still standing holds them again), with the trail's word."""
    rows = (await s.execute(sql(
        f"""WITH k AS (SELECT CAST(:c AS text) AS client_slug, CAST(:r AS text) AS account_ref),
            locked AS (SELECT x.id, x.scheduled_at FROM k CROSS JOIN LATERAL ({_TO_COME} ORDER BY a.id
                       FOR UPDATE OF a) x),
            back AS (
               SELECT CAST(floor(extract(epoch FROM min(l.scheduled_at) - CAST(:now AS timestamptz)) / 86400)
                      AS integer) AS days
               FROM locked l HAVING bool_or((SELECT CAST(:why AS text) = ANY(d.reasons) FROM outreach.decisions d
                                             WHERE d.attempt_id = l.id ORDER BY d.id DESC LIMIT 1)))
           UPDATE outreach.attempts a SET scheduled_at = a.scheduled_at - make_interval(days => back.days)
           FROM locked, back WHERE a.id = locked.id AND back.days > 0
           RETURNING a.id, a.channel, a.scheduled_at"""),
        {"c": client, "r": account_ref, "now": now, "why": reason})).all()
    await trail(s, [TrailEntry(client, account_ref, now, "rescheduled", r.id, r.channel,
                               {"reason": f"hold ended: {reason}", "scheduled_at": r.scheduled_at.isoformat()})
                    for r in rows])
