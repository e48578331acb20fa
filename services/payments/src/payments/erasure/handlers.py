"""A person's erasure asked by reporting (debtor.erasure_requested): every plaintext copy of their data in payments'
tables erased and the erasure confirmed (debtor.erasure_confirmed) in one transaction; asked again, it erases
again (nothing is left) and confirms again. When the erasure completes (debtor.erased) the same erasure runs
again, confirming nothing: a database restored from a backup older than the erasure loses its copies again."""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from payments.erasure import store
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import DebtorErased, DebtorErasureConfirmed, DebtorErasureRequested
from recaudo_common.personal_data import NotIndexable, Vault

log = logging.getLogger("recaudo.payments")


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


async def erase_person(s: AsyncSession, vault: Vault, client: str, debtor_ref: UUID, account_refs: list[str]
                       ) -> store.Erased:
    payer_ids = await _theirs(s, vault, client, debtor_ref, await store.unfound_payer_ids(s, client))
    return await store.erase(s, client=client, debtor_ref=debtor_ref, account_refs=account_refs, payer_ids=payer_ids)


async def on_erasure_requested(event: DebtorErasureRequested, ctx: HandlerContext, *, vault: Vault) -> None:
    erased = await erase_person(ctx.session, vault, ctx.envelope.client, event.debtor_ref, event.account_refs)
    await ctx.emit(DebtorErasureConfirmed(erasure_id=event.erasure_id, debtor_ref=event.debtor_ref,
                                          service="payments", erased_rows=erased.rows, confirmed_at=ctx.now))


async def on_erased(event: DebtorErased, ctx: HandlerContext, *, vault: Vault) -> None:
    """The person's erasure completed: payments erases again whatever it holds of them, and confirms nothing (no
    one waits for it). Ordinarily nothing is left; in a database restored from a backup older than the erasure
    (its consumers' offsets on the debtor topic reset to the backup's time) the copies it brought back go: on
    the person's accounts and payments, found by reference and pseudonym. An id number waiting in suspense that
    found no one when paid is theirs only as far as the vault can still tell (their key and lookups back with the
    restore, not yet shredded again): once shredded, nothing links it to them any more."""
    erased = await erase_person(ctx.session, vault, ctx.envelope.client, event.debtor_ref, event.account_refs)
    if erased.rows:
        log.info("an erasure was applied again (a restored database)", extra={"fields": {
            "client": ctx.envelope.client, "erasure": str(event.erasure_id), "erased_rows": erased.rows}})
