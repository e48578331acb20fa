"""The best times' read model: each client company's latest announced best slots per segment and channel, and when
they were learned (a late, older announcement never replaces a newer one)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import unnest_rows
from reporting.domain.best_times import BestTime
from reporting.store import read_model_sql


class BestSlotRow(NamedTuple):
    """One announced slot: a row of `replace_best_times`, in its columns' order."""

    segment: str
    channel: str
    rank: int
    dow: int
    hour: int
    label: str
    rate: Decimal
    n: int


async def replace_best_times(s: AsyncSession, *, client: str, learned_at: dt.datetime,
                             slots: list[BestSlotRow]) -> bool:
    """The client company's best slots, all replaced by these when they were learned no earlier than the ones
    kept; False (nothing changed) for an older announcement."""
    newer = (await s.execute(read_model_sql(
        """INSERT INTO reporting.best_time_learnings AS l (client_slug, learned_at) VALUES (:c, :at)
           ON CONFLICT (client_slug) DO UPDATE SET learned_at = excluded.learned_at
           WHERE l.learned_at <= excluded.learned_at
           RETURNING 1"""), {"c": client, "at": learned_at})).first()
    if newer is None:
        return False
    await s.execute(read_model_sql("DELETE FROM reporting.best_times WHERE client_slug = :c"), {"c": client})
    if slots:
        source, params = unnest_rows(
            {"segment": "text", "channel": "text", "rank": "smallint", "dow": "smallint", "hour": "smallint",
             "label": "text", "rate": "numeric", "n": "int"}, slots)
        await s.execute(read_model_sql(
            f"""INSERT INTO reporting.best_times (client_slug, segment, channel, rank, dow, hour, label, rate, n)
                SELECT :c, segment, channel, rank, dow, hour, label, rate, n FROM {source}"""),
            {**params, "c": client})
    return True


async def segment_best_times(s: AsyncSession, client: str, segment: str) -> list[BestTime]:
    """The segment's best slot on each channel learned for it, by channel."""
    rows = await s.execute(read_model_sql(
        """SELECT b.channel, b.dow, b.hour, b.label, b.rate, b.n, l.learned_at FROM reporting.best_times b
           JOIN reporting.best_time_learnings l USING (client_slug)
           WHERE b.client_slug = :c AND b.segment = :segment AND b.rank = 1 ORDER BY b.channel"""),
        {"c": client, "segment": segment})
    return [BestTime(r.channel, r.dow, r.hour, r.label, r.rate, r.n, r.learned_at) for r in rows]
