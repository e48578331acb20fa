"""A person's data under the data-protection laws: the access request (everything held, opened with their key,
and logged), the erasure saga (refused while an obligation is active; proposed to payments, which checks its ledger
again in the transaction that erases its copy and confirms or refuses; once payments confirmed, requested from
ingest and outreach; when every service has confirmed, the key is shredded), and each client company's
retention."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, NotFound
from recaudo_common.events import (
    DebtorErased,
    DebtorErasureConfirmed,
    DebtorErasureProposed,
    DebtorErasureRefused,
    DebtorErasureRequested,
)
from recaudo_common.events.privacy import ERASING_SERVICES, ErasureReason
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data import PersonalData, Vault, personal_of
from reporting.domain.privacy import active_accounts, erasure_complete
from reporting.privacy import access_store, store
from reporting.privacy.held import Held, held_about
from reporting.privacy.store import AccessEntry, Erasure
from reporting.store import SCHEMA

log = logging.getLogger("recaudo.reporting.privacy")
outbox = Outbox(SCHEMA)
# Bounded labels only: why the erasure started (request | retention), never who.
ERASURES_STARTED = Counter("recaudo_reporting_erasures_started_total",
                           "Erasures of a person's data started, by why", ["reason"])
ERASURES_COMPLETED = Counter("recaudo_reporting_erasures_completed_total",
                             "Erasures completed (every service confirmed, the key shredded), by why", ["reason"])


@dataclass(frozen=True)
class Caller:
    """Who asks, as the access log records it: the API key's id (None for the retention job) and its role."""

    key_id: uuid.UUID | None
    role: str


RETENTION_JOB = Caller(None, "retention")


@dataclass(frozen=True)
class PersonalDataHeld:
    """The answer to an access request: the person opened with their key, what is held, who read it and when."""

    debtor_ref: uuid.UUID
    identity: PersonalData
    held: Held
    access_log: list[AccessEntry]


@dataclass(frozen=True)
class _SealedCopy:
    debtor_ref: uuid.UUID | None
    personal: str | None


def _nobody() -> NotFound:
    # Never the id number: a refusal is logged, and the path's value must not reach a log.
    return NotFound("personal data held about that person")


async def personal_data(db: Database, vault: Vault, *, client: str, id_number: str, caller: Caller,
                        now: dt.datetime) -> PersonalDataHeld:
    """Everything held about the person with this id number at the client company, opened with their key; the
    read is logged (and part of the answer). Nothing held, or the person erased: NotFound."""
    async with db.transaction() as s:
        debtor_ref = await vault.find(s, client, "id_number", id_number)
        if debtor_ref is None:
            raise _nobody()
        return await personal_data_of(s, vault, client=client, debtor_ref=debtor_ref, caller=caller, now=now)


async def personal_data_of(s: AsyncSession, vault: Vault, *, client: str, debtor_ref: uuid.UUID, caller: Caller,
                           now: dt.datetime) -> PersonalDataHeld:
    """What reporting holds about the person, opened with their key, the read logged in the caller's transaction.
    Nothing held, or the person erased: NotFound."""
    held = await held_about(s, client, debtor_ref)
    sealed = held.latest_sealed()
    identity = None if sealed is None else await personal_of(
        vault, s, client, _SealedCopy(debtor_ref, sealed.personal))
    if identity is None:
        raise _nobody()
    await store.log_access(s, client=client, debtor_ref=debtor_ref, what="access", by_key=caller.key_id,
                           by_role=caller.role, at=now)
    entries = await store.access_log(s, client, debtor_ref)
    return PersonalDataHeld(debtor_ref, identity, held, entries)


async def request_erasure(db: Database, vault: Vault, *, client: str, id_number: str, note: str | None,
                          caller: Caller, now: dt.datetime) -> Erasure:
    """Starts erasing the person with this id number (or answers the erasure already running for them)."""
    async with db.transaction() as s:
        debtor_ref = await vault.find(s, client, "id_number", id_number)
        if debtor_ref is None:
            raise _nobody()
        erasure, started = await start_erasure(s, client=client, debtor_ref=debtor_ref, reason="request", note=note,
                                               caller=caller, now=now)
    if started:
        ERASURES_STARTED.labels(reason="request").inc()
    return erasure


async def start_erasure(s: AsyncSession, *, client: str, debtor_ref: uuid.UUID, reason: ErasureReason,
                        note: str | None, caller: Caller, now: dt.datetime) -> tuple[Erasure, bool]:
    """Records the erasure and proposes it to payments, in the caller's transaction; the erasure already running
    for the person instead when there is one (False: nothing started). Refused while one of the person's accounts
    is an active obligation: it is the legal basis to keep the data. This read model may be behind the ledger (a
    chargeback not yet read here), so payments checks again before anything is erased (ErasureSaga)."""
    if (running := await store.running_erasure(s, client, debtor_ref)) is not None:
        return running, False
    accounts = await store.standings(s, client, debtor_ref)
    if not accounts:
        raise Conflict("accounts_unknown", "no account of this person has reached reporting yet; nothing can be "
                                           "erased before their accounts are known: try again shortly")
    if active := active_accounts(accounts):
        raise Conflict("obligation_active",
                       f"the obligation is active on {len(active)} of the person's accounts ({', '.join(active)}): "
                       "an open balance that was not recalled is the legal basis to keep the data; erase once "
                       "each is paid, settled or recalled",
                       errors=[{"account_ref": ref, "reason": "open balance, not recalled"} for ref in active])
    erasure_id, refs = uuid.uuid4(), [a.account_ref for a in accounts]
    if not await store.add_erasure(s, erasure_id=erasure_id, client=client, debtor_ref=debtor_ref, account_refs=refs,
                                   reason=reason, note=note, by=caller.key_id, now=now):
        running = await store.running_erasure(s, client, debtor_ref)  # another request got there first
        if running is not None:
            return running, False
        raise Conflict("erasure_race", "another erasure of this person changed while this one started; try again")
    await store.log_access(s, client=client, debtor_ref=debtor_ref, what="erasure", by_key=caller.key_id,
                           by_role=caller.role, at=now)
    await outbox.add(s, [DebtorErasureProposed(
        erasure_id=erasure_id, debtor_ref=debtor_ref, account_refs=refs, reason=reason, requested_at=now,
    ).envelope(client=client, occurred_at=now)])
    started = await store.erasure(s, client, erasure_id)
    assert started is not None  # written just above, in this transaction
    return started, True


async def erasure(db: Database, *, client: str, erasure_id: uuid.UUID) -> Erasure:
    async with db.transaction() as s:
        found = await store.erasure(s, client, erasure_id)
    if found is None:
        raise NotFound(f"erasure {erasure_id}")
    return found


async def erasures(db: Database, *, client: str, after: tuple[dt.datetime, uuid.UUID] | None,
                   limit: int) -> list[Erasure]:
    async with db.transaction() as s:
        return await store.erasures(s, client, after=after, limit=limit)


class ErasureSaga:
    """Reporting's part in an erasure after the proposal: payments' confirmation (its ledger found no account of
    the person active, and it erased its copy) asks ingest and outreach (`debtor.erasure_requested`); payments'
    refusal ends the erasure refused, nothing erased anywhere; once every service holding a copy has confirmed,
    the key is shredded, reporting's sealed copies dropped, the erasure completed and `debtor.erased` published,
    in one transaction. Repeated confirmations change nothing."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    async def on_confirmed(self, event: DebtorErasureConfirmed, ctx: HandlerContext) -> None:
        s, client = ctx.session, ctx.envelope.client
        found = await store.erasure(s, client, event.erasure_id, lock=True)  # one confirmation at a time
        if found is None or found.debtor_ref != event.debtor_ref:
            log.warning("a confirmation of an erasure reporting did not request was ignored",
                        extra={"fields": {"erasure_id": str(event.erasure_id), "service": event.service}})
            return
        first = await store.confirm(s, erasure_id=found.id, service=event.service, erased_rows=event.erased_rows,
                                    at=event.confirmed_at)
        if found.status != "in_progress":
            return
        if event.service == "payments" and first:
            # Past the gate: the ledger found no active obligation when payments erased, so the others may erase.
            await ctx.emit(DebtorErasureRequested(
                erasure_id=found.id, debtor_ref=found.debtor_ref, account_refs=list(found.account_refs),
                reason=found.reason, requested_at=found.requested_at))
        if not erasure_complete({*found.confirmed_by, event.service},
                                                               ERASING_SERVICES):
            return
        await self.vault.shred(s, client, found.debtor_ref, found.reason, ctx.now)
        await store.drop_sealed_copies(s, client, found.debtor_ref)
        await access_store.drop_parts(s, client, found.debtor_ref)
        await store.complete(s, found.id, ctx.now)
        await ctx.emit(DebtorErased(erasure_id=found.id, debtor_ref=found.debtor_ref,
                                    account_refs=list(found.account_refs), reason=found.reason,
                                    erased_at=ctx.now))
        ERASURES_COMPLETED.labels(reason=found.reason).inc()

    async def on_refused(self, event: DebtorErasureRefused, ctx: HandlerContext) -> None:
        """Payments found an account of the person active again: the erasure ends refused and nothing is erased
        (no other service was asked yet). A refusal after payments confirmed (a request checked again, see
        payments' gate) changes nothing: the erasure was past its gate."""
        s, client = ctx.session, ctx.envelope.client
        found = await store.erasure(s, client, event.erasure_id, lock=True)
        if found is None or found.debtor_ref != event.debtor_ref or found.status != "in_progress" \
                or "payments" in found.confirmed_by:
            return
        await store.refuse(s, found.id, event.refused_at)
        log.info("an erasure was refused: an account of the person is active again",
                 extra={"fields": {"erasure_id": str(found.id), "reason": found.reason,
                                   "active_accounts": len(event.active_account_refs)}})

    async def on_erased(self, event: DebtorErased, ctx: HandlerContext) -> None:
        """Shreds again: a database restored from a backup older than the erasure has the key back (reporting's
        own erasure, read back, changes nothing)."""
        s, client = ctx.session, ctx.envelope.client
        if await self.vault.shred(s, client, event.debtor_ref, event.reason, ctx.now):
            log.info("an erasure was applied again (a restored vault)",
                     extra={"fields": {"erasure_id": str(event.erasure_id)}})
        await store.drop_sealed_copies(s, client, event.debtor_ref)
        await access_store.drop_parts(s, client, event.debtor_ref)
        await store.complete(s, event.erasure_id, event.erased_at)


async def retention(db: Database, *, client: str) -> int | None:
    async with db.transaction() as s:
        return await store.retention_of(s, client)


async def set_retention(db: Database, *, client: str, days_after_closure: int | None, now: dt.datetime) -> None:
    """How many days after a person's last account was recalled or closed their data is erased (None: kept)."""
    async with db.transaction() as s:
        await store.set_retention(s, client, days_after_closure, now)
