"""A plan's dated attempts as planning writes them: each with its `scheduled` entry in the audit trail, in the
statement that schedules it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql, unnest_rows
from recaudo_common.ids import time_ordered_id


@dataclass(frozen=True)
class Planned:
    """One dated attempt of a plan."""

    client: str
    account_ref: str
    plan_id: uuid.UUID
    sequence: int
    channel: str
    at: dt.datetime
    why: str | None = None  # why it was put at `at`, when not simply the cadence's first allowed slot
    arm: str | None = None  # the best-time experiment's arm of its account, while its client company runs one
    correlation_id: uuid.UUID | None = None  # its treatment's (PlanToMake's)
    treatment: str = ""  # its treatment's name, as the trail's `scheduled` entry says it


async def schedule_attempts_many(s: AsyncSession, planned: list[Planned], now: dt.datetime) -> None:
    """Many plans' attempts in one round trip, each with its `scheduled` entry in the audit trail (in the attempts'
    order, after whatever the caller put in the trail before); an attempt already scheduled for its plan is neither
    scheduled nor entered again. Each carries its treatment's correlation id as planning read it (a join to the
    treatments here cost the pipeline's largest statement a scan of them per batch while the table was small).

    The entries are written from the rows the insert returns, in the same statement: returning the rows to Python
    to build each entry and send it back as another statement's parameters cost about a sixth of outreach's CPU in
    the pipeline (#24). Their detail is what store.trail kept (the treatment, the sequence, scheduled_at as Python's
    isoformat in UTC, the why when there is one); none of its keys is personal or free text (store.scrubbed)."""
    if not planned:
        return
    source, params = unnest_rows({"id": "uuid", "client_slug": "text", "account_ref": "text", "plan_id": "uuid",
                                  "sequence": "integer", "channel": "text", "at": "timestamptz", "why": "text",
                                  "arm": "text", "correlation_id": "uuid", "treatment": "text", "at_iso": "text"},
                                 [(time_ordered_id(), p.client, p.account_ref, p.plan_id, p.sequence, p.channel, p.at,
                                   p.why, p.arm, p.correlation_id, p.treatment, p.at.astimezone(dt.UTC).isoformat())
                                  for p in planned],
                                 alias="x", ordinality=True)
    await s.execute(sql(
        f"""WITH x AS MATERIALIZED (SELECT * FROM {source}),
           created AS (
               INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence, status,
                   scheduled_at, created_at, correlation_id, why, best_time_arm)
               SELECT x.id, x.client_slug, x.account_ref, x.plan_id, x.channel, x.sequence, 'scheduled',
                      x.at, :now, x.correlation_id, x.why, x.arm
               FROM x
               ORDER BY x.n
               ON CONFLICT (plan_id, sequence) DO NOTHING
               RETURNING id, channel, sequence, why)
           INSERT INTO outreach.trail (client_slug, account_ref, at, kind, attempt_id, channel, detail)
           SELECT x.client_slug, x.account_ref, :now, 'scheduled', c.id, c.channel,
                  jsonb_build_object('treatment', x.treatment, 'sequence', c.sequence, 'scheduled_at', x.at_iso)
                  || CASE WHEN c.why <> '' THEN jsonb_build_object('why', c.why) ELSE '{{}}' END
           FROM created c JOIN x ON x.id = c.id
           ORDER BY x.n"""), {**params, "now": now})
