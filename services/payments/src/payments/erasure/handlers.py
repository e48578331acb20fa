"""A person's erasure asked by reporting (debtor.erasure_requested): every plaintext copy of their data in payments'
tables erased and the erasure confirmed (debtor.erasure_confirmed) in one transaction; asked again, it erases
again (nothing is left) and confirms again."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from payments.erasure import store
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import DebtorErasureConfirmed, DebtorErasureRequested
from recaudo_common.personal_data import NotIndexable, Vault


async def _theirs(s: AsyncSession, vault: Vault, client: str, debtor_ref: UUID, id_numbers: list[str]) -> list[str]:
    """Which of the id numbers payers gave that found no one when they paid are this person's: those the vault
    finds them by now (they were placed after paying). Their key is shredded only once every service has
    confirmed, so the vault still finds them here. One look-up per distinct number waiting in suspense."""
    theirs: list[str] = []
    for id_number in id_numbers:
        try:
            if await vault.find(s, client, "id_number", id_number) == debtor_ref:
                theirs.append(id_number)
        except NotIndexable:  # no letter or digit: no one's
            continue
    return theirs


async def on_erasure_requested(event: DebtorErasureRequested, ctx: HandlerContext, *, vault: Vault) -> None:
    s, client = ctx.session, ctx.envelope.client
    payer_ids = await _theirs(s, vault, client, event.debtor_ref, await store.unfound_payer_ids(s, client))
    erased = await store.erase(s, client=client, debtor_ref=event.debtor_ref, account_refs=event.account_refs,
                               payer_ids=payer_ids)
    await ctx.emit(DebtorErasureConfirmed(erasure_id=event.erasure_id, debtor_ref=event.debtor_ref,
                                          service="payments", erased_rows=erased.rows, confirmed_at=ctx.now))
