"""A person's access request (debtor.access_requested): every record of their data in outreach's tables (the
account copy, replies, opt-outs, do-not-contact, messages kept, WhatsApp messages, hold notes...), sealed with their
key, answered as outreach's part (debtor.access_answered) for reporting to put together with the others."""

from __future__ import annotations

from outreach.erasure import store
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import DebtorAccessAnswered, DebtorAccessRequested
from recaudo_common.personal_data import HeldPart, Vault, seal_part


async def on_access_requested(event: DebtorAccessRequested, ctx: HandlerContext, *, vault: Vault) -> None:
    s, client = ctx.session, ctx.envelope.client
    records = await store.held(s, client, event.debtor_ref, event.account_refs)
    key = await vault.key_of(s, client, event.debtor_ref)
    part = None if key is None else seal_part(key, client, event.debtor_ref, HeldPart(records=tuple(records)))
    await ctx.emit(DebtorAccessAnswered(access_id=event.access_id, debtor_ref=event.debtor_ref, service="outreach",
                                        part=part, records=len(records) if part else 0, answered_at=ctx.now))
