"""The arrangement an account stands under, as the debtor page shows it and the collection hold reads it: kept from
payments' arrangement.made until its arrangement.kept or arrangement.broken, in whichever order they come, so the page
shows the plan agreed instead of offering another and no collection message goes out while it stands
(holds.py)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import holds
from outreach.domain.collection_holds import ARRANGEMENT_STANDING
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import sql
from recaudo_common.events import ArrangementBroken, ArrangementKept, ArrangementMade


@dataclass(frozen=True)
class StandingPlan:
    """An arrangement in force: a settlement (one payment by a date) or the instalments of a plan."""

    kind: str
    total: Decimal
    instalments: tuple[tuple[dt.date, Decimal], ...]


async def record_made(s: AsyncSession, client: str, event: ArrangementMade) -> None:
    schedule = [{"due_date": i.due_date.isoformat(), "amount": str(i.amount)} for i in event.instalments]
    await s.execute(sql(
        "INSERT INTO outreach.arrangements (arrangement_id, client_slug, account_ref, kind, total_amount, instalments, "
        "made_at) VALUES (:id, :c, :r, :k, :t, CAST(:i AS jsonb), :m) ON CONFLICT (arrangement_id) DO UPDATE SET "
        "kind = excluded.kind, total_amount = excluded.total_amount, instalments = excluded.instalments, "
        "made_at = excluded.made_at"),  # its verdict came first: the plan joins it, still decided
        {"id": event.arrangement_id, "c": client, "r": event.account_ref, "k": event.kind, "t": event.total_amount,
         "i": json.dumps(schedule), "m": event.made_at})


async def record_decided(s: AsyncSession, client: str, account_ref: str, arrangement_id: uuid.UUID, status: str,
                         at: dt.datetime) -> None:
    """The arrangement kept or broken; one not made here yet is kept decided, so its arrangement.made (redelivered,
    or overtaken by its verdict) never makes it stand."""
    await s.execute(sql(
        "INSERT INTO outreach.arrangements (arrangement_id, client_slug, account_ref, status, decided_at) "
        "VALUES (:id, :c, :r, :st, :at) ON CONFLICT (arrangement_id) DO UPDATE SET status = excluded.status, "
        "decided_at = excluded.decided_at WHERE arrangements.status = 'active'"),
        {"id": arrangement_id, "c": client, "r": account_ref, "st": status, "at": at})


async def standing(s: AsyncSession, client: str, account_ref: str) -> StandingPlan | None:
    """The account's arrangement in force, the latest when (exceptionally) several are."""
    row = (await s.execute(sql(
        "SELECT kind, total_amount, instalments FROM outreach.arrangements WHERE client_slug = :c "
        "AND account_ref = :r AND status = 'active' ORDER BY made_at DESC LIMIT 1"),
        {"c": client, "r": account_ref})).first()
    if row is None:
        return None
    schedule = row[2] if isinstance(row[2], list) else json.loads(row[2])
    return StandingPlan(row[0], Decimal(row[1]), tuple((dt.date.fromisoformat(i["due_date"]), Decimal(i["amount"]))
                                                      for i in schedule))


async def on_arrangement_decided(event: ArrangementKept | ArrangementBroken, ctx: HandlerContext) -> None:
    """Kept or broken, the arrangement no longer stands: the page offers again what the treatment allows, and the
    attempts it held are decided again now (holds.release)."""
    status, at = ("kept", event.kept_at) if isinstance(event, ArrangementKept) else ("broken", event.broken_at)
    await record_decided(ctx.session, ctx.envelope.client, event.account_ref, event.arrangement_id, status, at)
    await holds.release(ctx.session, ctx.envelope.client, event.account_ref, ARRANGEMENT_STANDING, ctx.now)
