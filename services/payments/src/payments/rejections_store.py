"""Payments' record of refused webhooks (schema `payments`): one row per (gateway, source address, reason), bounded
however many sources a flood of forged webhooks comes from."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from sqlalchemy.ext.asyncio import AsyncSession

from payments.records import RejectionSample
from payments.schemas import WebhookRejectionOut
from recaudo_common.db import sql

OTHERS = ""  # the gateway of the rows that hold what older sources were folded into (no route has an empty name)


async def record_webhook_rejection(s: AsyncSession, *, gateway: str, reason: str, source: str | None,
                                   sample: RejectionSample, now: dt.datetime, max_rows: int) -> None:
    """Counts a refused webhook on its (gateway, source address, reason) row. A flood of forged webhooks from
    ever new sources cannot grow the table: past `max_rows` sources, the least recently seen are folded into
    one row per reason (gateway OTHERS), so the counts still add up to every refusal."""
    inserted = await s.scalar(sql(
        """INSERT INTO payments.webhook_rejections AS w (gateway, source_address, reason, count, first_seen,
               last_seen, sample)
           VALUES (:g, :src, :r, 1, :now, :now, CAST(:sample AS jsonb))
           ON CONFLICT (gateway, source_address, reason) DO UPDATE SET count = w.count + 1,
               first_seen = least(w.first_seen, excluded.first_seen),
               last_seen = greatest(w.last_seen, excluded.last_seen), sample = excluded.sample
           RETURNING xmax = 0"""),
        {"g": gateway[:100], "src": source, "r": reason, "now": now, "sample": json.dumps(dataclasses.asdict(sample))})
    if not inserted:
        return
    # Only a new source can pass the cap; one folder at a time, so two new sources never both skip the fold.
    await s.execute(sql("SELECT pg_advisory_xact_lock(hashtext('recaudo.payments.webhook_rejections'))"))
    await s.execute(sql(
        """WITH folded AS (
               DELETE FROM payments.webhook_rejections WHERE id IN (
                   SELECT id FROM payments.webhook_rejections WHERE gateway <> :others
                   ORDER BY last_seen, id
                   LIMIT greatest((SELECT count(*) FROM payments.webhook_rejections WHERE gateway <> :others)
                                  - :max, 0))
               RETURNING reason, count, first_seen, last_seen)
           INSERT INTO payments.webhook_rejections AS w (gateway, source_address, reason, count, first_seen,
               last_seen, sample)
           SELECT :others, NULL, reason, sum(count), min(first_seen), max(last_seen), '{}'::jsonb
           FROM folded GROUP BY reason
           ON CONFLICT (gateway, source_address, reason) DO UPDATE SET count = w.count + excluded.count,
               first_seen = least(w.first_seen, excluded.first_seen),
               last_seen = greatest(w.last_seen, excluded.last_seen)"""),
        {"others": OTHERS, "max": max_rows})


async def list_webhook_rejections(s: AsyncSession, *, before: tuple[dt.datetime, int] | None, limit: int,
                                  clients: tuple[str, ...] | None = None) -> list[WebhookRejectionOut]:
    """The most recently seen sources first, those after `before` (the last one of the previous page), read straight
    into what the API answers. `clients`: only the rows of those client companies' gateway accounts (recorded
    under `kind/client/name`), for a caller limited to them; the platform's own gateways and the folded rows are
    the agency's, not any one client company's."""
    where = ["(last_seen, id) < (:t, :id)"] if before else []
    if clients is not None:
        where.append("gateway LIKE '%/%/%' AND split_part(gateway, '/', 2) = ANY(:clients)")
    rows = (await s.execute(sql(
        "SELECT id, nullif(gateway, :others) AS gateway, source_address, reason, count, first_seen, last_seen, sample, "
        "last_seen AS received_at, gateway = :others AS folded FROM payments.webhook_rejections "
        f"{'WHERE ' + ' AND '.join(where) + ' ' if where else ''}ORDER BY last_seen DESC, id DESC LIMIT :n"),
        {"n": limit, "others": OTHERS, **({"t": before[0], "id": before[1]} if before else {}),
         **({"clients": list(clients)} if clients is not None else {})})).mappings().all()
    return [WebhookRejectionOut.model_validate(dict(r)) for r in rows]
