"""Best time's tables and queries: the outcome history of the messages sent (by client company, segment, channel,
debtor's zone and hour), the learned windows, each client company's switch and experiment, and attempts' arms."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.best_time import LearnedWindow
from outreach.domain.best_time_experiment import BestTimeArm, Experiment
from recaudo_common.db import sql, unnest_rows

# A promise made on the debtor page (or an arrangement asked for there) after a message counts for it.
PROMISE_KINDS = ("page_promise", "page_arrangement_requested")


@dataclass(frozen=True)
class SentHour:
    """Messages sent to one client company's segment on a channel within one UTC hour, for debtors of one
    country, region and client zone (the debtor's zone follows from them), and how many went well."""

    client: str
    segment: str
    channel: str
    country: str
    region: str | None
    client_zone: str
    hour: dt.datetime  # its start, UTC
    sent: int
    good: int


# One replica relearns at a time: two replacing the same windows at once would collide on their keys.
RELEARN_LOCK = "outreach.best_time.relearn"


async def take_relearn_lock(s: AsyncSession) -> bool:
    """The relearning's lock for this transaction; False when another replica holds it (it relearns now)."""
    return bool(await s.scalar(sql("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": RELEARN_LOCK}))


async def outcome_history(s: AsyncSession, *, since: dt.datetime, until: dt.datetime,
                          outcome_window: dt.timedelta) -> list[SentHour]:
    """The messages sent in [since, until) and their outcomes: good when the debtor answered it (not an opt-out),
    or it was the last message to the account before a promise on the debtor page or the payment that paid the
    account off, within `outcome_window` (last touch: one promise credits one message, not every one before it).
    The segment is the account's current one (outreach keeps the latest treatment); agents' calls are not
    scheduled by slot, and the sandbox's messages are simulated (its replies drawn at random), never evidence of
    when a debtor answers."""
    # Set-based, each outcome read once and joined by attempt (a correlated look-up per message would read the
    # replies and the trail once per message sent over the lookback).
    rows = await s.execute(sql(
        """WITH sent AS (
               SELECT a.id, a.client_slug, a.account_ref, a.channel, a.sent_at FROM outreach.attempts a
               WHERE a.sent_at >= :since AND a.sent_at < :until AND a.channel <> 'agent'
                 AND a.provider IS DISTINCT FROM 'sandbox'),
           answered AS (
               SELECT DISTINCT sent.id FROM outreach.replies r JOIN sent ON sent.id = r.attempt_id
               WHERE NOT r.opt_out AND r.received_at < sent.sent_at + :window),
           promised AS (
               SELECT DISTINCT id FROM (
                   SELECT DISTINCT ON (tr.id) sent.id FROM outreach.trail tr
                   JOIN sent ON sent.client_slug = tr.client_slug AND sent.account_ref = tr.account_ref
                       AND sent.sent_at <= tr.at AND sent.sent_at > tr.at - :window
                   WHERE tr.kind = ANY(:promise_kinds) AND tr.at >= :since AND tr.at < :until + :window
                   ORDER BY tr.id, sent.sent_at DESC) last_touch),
           paid AS (
               SELECT DISTINCT ON (st.client_slug, st.account_ref) sent.id FROM outreach.account_status st
               JOIN sent ON sent.client_slug = st.client_slug AND sent.account_ref = st.account_ref
                   AND sent.sent_at <= st.as_of AND sent.sent_at > st.as_of - :window
               WHERE st.status = 'paid'
               ORDER BY st.client_slug, st.account_ref, sent.sent_at DESC)
           SELECT sent.client_slug, t.segment, sent.channel, c.country, acc.region, c.timezone,
                  date_trunc('hour', sent.sent_at AT TIME ZONE 'UTC') AS hour, count(*) AS sent,
                  count(*) FILTER (WHERE answered.id IS NOT NULL OR promised.id IS NOT NULL
                                   OR paid.id IS NOT NULL) AS good
           FROM sent
           JOIN outreach.treatments t ON t.client_slug = sent.client_slug AND t.account_ref = sent.account_ref
           JOIN outreach.accounts acc ON acc.client_slug = sent.client_slug AND acc.account_ref = sent.account_ref
           JOIN outreach.clients c ON c.slug = sent.client_slug
           LEFT JOIN answered ON answered.id = sent.id
           LEFT JOIN promised ON promised.id = sent.id
           LEFT JOIN paid ON paid.id = sent.id
           GROUP BY 1, 2, 3, 4, 5, 6, 7"""),
        {"since": since, "until": until, "window": outcome_window, "promise_kinds": list(PROMISE_KINDS)})
    return [SentHour(r.client_slug, r.segment, r.channel, r.country, r.region, str(r.timezone),
                     r.hour.replace(tzinfo=dt.UTC), int(r.sent), int(r.good)) for r in rows]


async def replace_windows(s: AsyncSession, client: str, windows: list[LearnedWindow], now: dt.datetime) -> None:
    """The client company's learned windows, all replaced by these (a segment no longer seen is forgotten)."""
    await s.execute(sql("DELETE FROM outreach.best_time_windows WHERE client_slug = :c"), {"c": client})
    if not windows:
        return
    source, params = unnest_rows(
        {"segment": "text", "channel": "text", "dow": "smallint", "hour": "smallint", "rate": "float8", "n": "int"},
        [(w.segment, w.channel, w.dow, w.hour, w.rate, w.n) for w in windows])
    await s.execute(sql(
        f"""INSERT INTO outreach.best_time_windows (client_slug, segment, channel, dow, hour, rate, n, learned_at)
            SELECT :c, segment, channel, dow, hour, rate, n, :now FROM {source}"""),
        {**params, "c": client, "now": now})


async def forget_clients_except(s: AsyncSession, clients: Iterable[str]) -> list[str]:
    """Drops the windows of client companies with nothing sent over the lookback; the client companies that had
    some."""
    rows = await s.execute(sql(
        """WITH gone AS (DELETE FROM outreach.best_time_windows WHERE NOT (client_slug = ANY(:cs))
                         RETURNING client_slug)
           SELECT DISTINCT client_slug FROM gone ORDER BY client_slug"""), {"cs": list(clients)})
    return [r.client_slug for r in rows]


async def windows_of(s: AsyncSession, client: str, segment: str | None = None,
                     channel: str | None = None) -> list[tuple[LearnedWindow, dt.datetime]]:
    """A client company's learned windows (of one segment or channel when given) and when they were learned."""
    rows = await s.execute(sql(
        """SELECT segment, channel, dow, hour, rate, n, learned_at FROM outreach.best_time_windows
           WHERE client_slug = :c AND (CAST(:segment AS text) IS NULL OR segment = :segment)
             AND (CAST(:channel AS text) IS NULL OR channel = :channel)
           ORDER BY segment, channel, dow, hour"""), {"c": client, "segment": segment, "channel": channel})
    return [(LearnedWindow(r.segment, r.channel, r.dow, r.hour, float(r.rate), r.n), r.learned_at) for r in rows]


async def windows_for(s: AsyncSession, keys: set[tuple[str, str]]) -> dict[tuple[str, str, str], list[LearnedWindow]]:
    """The windows of these (client, segment) pairs, by (client, segment, channel); client companies that
    turned best time off have none."""
    if not keys:
        return {}
    source, params = unnest_rows({"client_slug": "text", "segment": "text"}, sorted(keys), alias="k")
    rows = await s.execute(sql(
        f"""SELECT w.client_slug, w.segment, w.channel, w.dow, w.hour, w.rate, w.n
            FROM {source} JOIN outreach.best_time_windows w USING (client_slug, segment)
            WHERE coalesce((SELECT b.enabled FROM outreach.best_time_clients b
                            WHERE b.client_slug = w.client_slug), true)"""), params)
    found: dict[tuple[str, str, str], list[LearnedWindow]] = {}
    for r in rows:
        found.setdefault((r.client_slug, r.segment, r.channel), []).append(
            LearnedWindow(r.segment, r.channel, r.dow, r.hour, float(r.rate), r.n))
    return found


@dataclass(frozen=True)
class AccountPlace:
    """An account's segment and channels (its latest treatment) and where its debtor is."""

    segment: str | None
    channels: tuple[str, ...]
    country: str
    region: str | None
    client_zone: str


async def account_place(s: AsyncSession, client: str, account_ref: str) -> AccountPlace | None:
    row = (await s.execute(sql(
        """SELECT t.segment, t.channels, c.country, acc.region, c.timezone
           FROM outreach.accounts acc JOIN outreach.clients c ON c.slug = acc.client_slug
           LEFT JOIN outreach.treatments t ON t.client_slug = acc.client_slug AND t.account_ref = acc.account_ref
           WHERE acc.client_slug = :c AND acc.account_ref = :r"""), {"c": client, "r": account_ref})).first()
    if row is None:
        return None
    return AccountPlace(row.segment, tuple(row.channels or ()), row.country, row.region, str(row.timezone))


async def set_enabled(s: AsyncSession, client: str, enabled: bool, now: dt.datetime,
                      experiment: Experiment = Experiment()) -> None:
    await s.execute(sql(
        """INSERT INTO outreach.best_time_clients (client_slug, enabled, updated_at, experiment, best_time_share)
           VALUES (:c, :e, :now, :x, :share)
           ON CONFLICT (client_slug) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at,
               experiment = excluded.experiment, best_time_share = excluded.best_time_share"""),
        {"c": client, "e": enabled, "now": now, "x": experiment.on, "share": experiment.best_time_share})


async def experiments_of(s: AsyncSession, clients: Iterable[str]) -> dict[str, Experiment]:
    """The best-time experiments these client companies run (best time on, the experiment on); others run none."""
    rows = await s.execute(sql(
        """SELECT client_slug, best_time_share FROM outreach.best_time_clients
           WHERE client_slug = ANY(:cs) AND enabled AND experiment"""), {"cs": sorted(set(clients))})
    return {r.client_slug: Experiment(True, float(r.best_time_share)) for r in rows}


async def attempt_arms(s: AsyncSession, attempt_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, BestTimeArm]:
    """The best-time experiment's arm of each of these attempts that was planned under one."""
    rows = await s.execute(sql(
        "SELECT id, best_time_arm FROM outreach.attempts WHERE id = ANY(:ids) AND best_time_arm IS NOT NULL"),
        {"ids": list(attempt_ids)})
    return {r.id: cast(BestTimeArm, r.best_time_arm) for r in rows}


async def experiment_of(s: AsyncSession, client: str) -> Experiment:
    """The client company's best-time experiment as set (whether best time itself is on or not)."""
    row = (await s.execute(sql(
        "SELECT experiment, best_time_share FROM outreach.best_time_clients WHERE client_slug = :c"),
        {"c": client})).first()
    return Experiment() if row is None else Experiment(bool(row.experiment), float(row.best_time_share))


async def is_enabled(s: AsyncSession, client: str) -> bool:
    found = await s.scalar(sql("SELECT enabled FROM outreach.best_time_clients WHERE client_slug = :c"),
                           {"c": client})
    return True if found is None else bool(found)
