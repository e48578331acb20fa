"""Erasure: on debtor.erasure_requested, outreach erases its copy of the person's data and confirms it
(debtor.erasure_confirmed) in the same transaction; asked again, it erases again (nothing left) and confirms again.
On debtor.erased it erases again without confirming (a database restored from before the erasure); and an account
placed before #19 gets its debtor's pseudonym (account.pseudonymised), by which an erasure finds it."""

from __future__ import annotations

import logging
import uuid

from outreach import store
from outreach.erasure import store as erasure
from outreach.erasure.store import Erased
from outreach.store import TrailEntry
from outreach.withdrawals import PERSON_ERASED, withdraw_handed_out
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import AccountPseudonymised, DebtorErased, DebtorErasureConfirmed, DebtorErasureRequested
from recaudo_common.events.privacy import ErasureReason

log = logging.getLogger("recaudo.outreach")


async def on_erasure_requested(event: DebtorErasureRequested, ctx: HandlerContext) -> None:
    erased = await _erase(ctx, event.erasure_id, event.debtor_ref, event.account_refs, event.reason, always=True)
    await ctx.emit(DebtorErasureConfirmed(erasure_id=event.erasure_id, debtor_ref=event.debtor_ref,
                                          service="outreach", erased_rows=erased.rows, confirmed_at=ctx.now))


async def on_erased(event: DebtorErased, ctx: HandlerContext) -> None:
    """The person's erasure completed: whatever outreach holds of them is erased again with the same statements,
    and nothing is confirmed (no one waits for it). Ordinarily nothing is left and nothing is recorded; in a
    database restored from a backup older than the erasure (its consumers' offsets on the debtor topic reset to
    the backup's time) the copies it brought back go, and the trail says so."""
    erased = await _erase(ctx, event.erasure_id, event.debtor_ref, event.account_refs, event.reason, always=False)
    if erased.rows:
        log.info("an erasure was applied again (a restored database)", extra={"fields": {
            "client": ctx.envelope.client, "erasure": str(event.erasure_id), "erased_rows": erased.rows}})


async def _erase(ctx: HandlerContext, erasure_id: uuid.UUID, debtor_ref: uuid.UUID, account_refs: list[str],
                 reason: ErasureReason, *, always: bool) -> Erased:
    """Erases the person, cancels what was still to be sent to them, withdraws a call handed out to an agent and
    records it in the trail (`always`, or only when something was erased, cancelled or withdrawn)."""
    client, now = ctx.envelope.client, ctx.now
    erased = await erasure.erase_person(ctx.session, client, debtor_ref, account_refs, now)
    # Contact with an erased person is over whatever else comes: nothing is left to reach them with anyway.
    cancelled = [a for ref in erased.account_refs
                 for a in await store.cancel_scheduled(ctx.session, client, ref, PERSON_ERASED)]
    # A call already handed to an agent goes too, after the scheduled ones (withdraw_handed_out says why).
    withdrawn = await withdraw_handed_out(ctx.session, [(client, ref) for ref in erased.account_refs],
                                          PERSON_ERASED, now)
    if always or erased.rows or cancelled or withdrawn:
        await store.trail(ctx.session, [
            TrailEntry(client, ref, now, "person_erased", detail={
                "erasure_id": str(erasure_id), "debtor_ref": str(debtor_ref), "reason": reason})
            for ref in erased.account_refs] + [
            TrailEntry(client, a.account_ref, now, "cancelled", a.attempt_id, a.channel, {"reason": PERSON_ERASED})
            for a in cancelled])
    return erased


async def on_pseudonymised(event: AccountPseudonymised, ctx: HandlerContext) -> None:
    """An account placed before #19 gets its debtor's pseudonym, by which an erasure finds it. Its working copy of
    the contact points (the same data, now sealed in the event) stays as it is."""
    await erasure.give_debtor(ctx.session, ctx.envelope.client, event.account_ref, event.debtor_ref)
