"""A person's erasure proposed by reporting (debtor.erasure_proposed): payments, the owner of every balance, is its
gate. Reporting decided on its read model, which may not yet show a chargeback, a reversal or a restatement that
reopened an account, or a new account of the person; so in one transaction payments locks the person's accounts
as every ledger change does, and refuses (debtor.erasure_refused, nothing erased) while one is an active
obligation, or else erases every plaintext copy of their data in its tables and confirms
(debtor.erasure_confirmed). Only then does reporting ask ingest and outreach, so no copy goes before the check.
Asked again, it checks and erases again (nothing is left) and confirms again. When the erasure completes
(debtor.erased) the same erasure runs again, confirming nothing: a database restored from a backup older than the
erasure loses its copies again."""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from payments.erasure import store
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import (
    DebtorErased,
    DebtorErasureConfirmed,
    DebtorErasureProposed,
    DebtorErasureRefused,
    DebtorErasureRequested,
)
from recaudo_common.personal_data import NotIndexable, Vault

log = logging.getLogger("recaudo.payments")


async def payer_ids_of(s: AsyncSession, vault: Vault, client: str, debtor_ref: UUID, id_numbers: list[str]
                       ) -> list[str]:
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
    payer_ids = await payer_ids_of(s, vault, client, debtor_ref, await store.unfound_payer_ids(s, client))
    return await store.erase(s, client=client, debtor_ref=debtor_ref, account_refs=account_refs, payer_ids=payer_ids)


async def on_erasure_proposed(event: DebtorErasureProposed | DebtorErasureRequested, ctx: HandlerContext, *,
                              vault: Vault) -> None:
    """The gate. A request (debtor.erasure_requested, which reporting sends to ingest and outreach once payments has
    confirmed, and sent to every service before the gate existed) is checked the same way: one still waiting from
    before the upgrade gets its confirmation, or its refusal, from here."""
    client = ctx.envelope.client
    if active := await store.active_accounts(ctx.session, client, event.debtor_ref, event.account_refs):
        log.info("an erasure was refused: an account of the person is active again", extra={"fields": {
            "client": client, "erasure": str(event.erasure_id), "active_accounts": len(active)}})
        await ctx.emit(DebtorErasureRefused(erasure_id=event.erasure_id, debtor_ref=event.debtor_ref,
                                            active_account_refs=active, refused_at=ctx.now))
        return
    erased = await erase_person(ctx.session, vault, client, event.debtor_ref, event.account_refs)
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
