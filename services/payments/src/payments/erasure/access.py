"""A person's access request (debtor.access_requested): every record of their data in payments' tables, sealed with
their key, answered as payments' part (debtor.access_answered) for reporting to put together with the others."""

from __future__ import annotations

from payments.erasure import store
from payments.erasure.handlers import payer_ids_of
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import DebtorAccessAnswered, DebtorAccessRequested
from recaudo_common.personal_data import HeldPart, Vault, seal_part


async def on_access_requested(event: DebtorAccessRequested, ctx: HandlerContext, *, vault: Vault) -> None:
    s, client = ctx.session, ctx.envelope.client
    payer_ids = await payer_ids_of(s, vault, client, event.debtor_ref, await store.unfound_payer_ids(s, client))
    records = await store.held(s, client=client, debtor_ref=event.debtor_ref, account_refs=event.account_refs,
                               payer_ids=payer_ids)
    key = await vault.key_of(s, client, event.debtor_ref)
    part = None if key is None else seal_part(key, client, event.debtor_ref, HeldPart(records=tuple(records)))
    await ctx.emit(DebtorAccessAnswered(access_id=event.access_id, debtor_ref=event.debtor_ref, service="payments",
                                        part=part, records=len(records) if part else 0, answered_at=ctx.now))
