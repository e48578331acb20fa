"""Erasure: on debtor.erasure_requested, outreach erases its copy of the person's data and confirms it
(debtor.erasure_confirmed) in the same transaction; asked again, it erases again (nothing left) and confirms again."""

from __future__ import annotations

from outreach import store
from outreach.erasure import store as erasure
from outreach.store import TrailEntry
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import DebtorErasureConfirmed, DebtorErasureRequested


async def on_erasure_requested(event: DebtorErasureRequested, ctx: HandlerContext) -> None:
    client, now = ctx.envelope.client, ctx.now
    erased = await erasure.erase_person(ctx.session, client, event.debtor_ref, event.account_refs, now)
    # Contact with an erased person is over whatever else comes: nothing is left to reach them with anyway.
    cancelled = [a for ref in erased.account_refs
                 for a in await store.cancel_scheduled(ctx.session, client, ref, "person erased")]
    await store.trail(ctx.session, [
        TrailEntry(client, ref, now, "person_erased", detail={
            "erasure_id": str(event.erasure_id), "debtor_ref": str(event.debtor_ref), "reason": event.reason})
        for ref in erased.account_refs] + [
        TrailEntry(client, a.account_ref, now, "cancelled", a.attempt_id, a.channel, {"reason": "person erased"})
        for a in cancelled])
    await ctx.emit(DebtorErasureConfirmed(erasure_id=event.erasure_id, debtor_ref=event.debtor_ref,
                                          service="outreach", erased_rows=erased.rows, confirmed_at=now))
