"""An access request that reaches every service holding the person's data: reporting records it and asks
(debtor.access_requested); ingest, outreach and payments each answer with every record of the person they hold,
sealed with the person's key (debtor.access_answered); the answer puts reporting's own part (what
GET …/personal-data shows) together with every service's, opened with the key, and logs the read. No service reads
another's tables: each answers for its own, through the debtor topic, as each erases its own."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import Database
from recaudo_common.domain_errors import NotFound
from recaudo_common.events import DebtorAccessAnswered, DebtorAccessRequested
from recaudo_common.events.privacy import ERASING_SERVICES
from recaudo_common.personal_data import HeldRecord, SealBroken, Vault, open_part
from reporting.privacy import access_store, store
from reporting.privacy.access_store import AccessRequest
from reporting.privacy.handlers import Caller, PersonalDataHeld, outbox, personal_data_of

log = logging.getLogger("recaudo.reporting.privacy")


@dataclass(frozen=True)
class AccessAnswer:
    """An access request, what reporting holds, and each service's part so far (all of them once completed)."""

    request: AccessRequest
    held: PersonalDataHeld
    parts: dict[str, list[HeldRecord]]


async def request_access(db: Database, vault: Vault, *, client: str, id_number: str, caller: Caller,
                         now: dt.datetime) -> AccessRequest:
    """Asks every service for what it holds of the person with this id number; NotFound when nothing is held."""
    async with db.transaction() as s:
        debtor_ref = await vault.find(s, client, "id_number", id_number)
        accounts = [] if debtor_ref is None else await store.standings(s, client, debtor_ref)
        if debtor_ref is None or not accounts:
            raise NotFound("personal data held about that person")  # never the id number: refusals are logged
        access_id = uuid.uuid4()
        await access_store.add(s, access_id=access_id, client=client, debtor_ref=debtor_ref,
                               account_refs=[a.account_ref for a in accounts], by=caller.key_id, now=now)
        await outbox.add(s, [DebtorAccessRequested(
            access_id=access_id, debtor_ref=debtor_ref, account_refs=[a.account_ref for a in accounts],
            requested_at=now).envelope(client=client, occurred_at=now)])
        found = await access_store.get(s, client, access_id)
    assert found is not None  # written just above
    return found


async def access_status(db: Database, *, client: str, access_id: uuid.UUID) -> AccessRequest:
    """How far the access request is (who answered, whether all did), without the person's data: no read of it,
    so nothing is logged (a page following the request asks this until it completes, then reads the answer once).
    NotFound for a request the client company never had, or once the person is erased, as the answer."""
    async with db.transaction() as s:
        request = await access_store.get(s, client, access_id)
        if request is None or not await access_store.person_held(s, client, request.debtor_ref):
            raise NotFound(f"access request {access_id}")
    return request


async def access_answer(db: Database, vault: Vault, *, client: str, access_id: uuid.UUID, caller: Caller,
                        now: dt.datetime) -> AccessAnswer:
    """The access request's answer, opened with the person's key; the read is logged. NotFound for a request the
    client company never had, or once the person is erased."""
    async with db.transaction() as s:
        request = await access_store.get(s, client, access_id)
        if request is None:
            raise NotFound(f"access request {access_id}")
        held = await personal_data_of(s, vault, client=client, debtor_ref=request.debtor_ref, caller=caller, now=now)
        key = await vault.key_of(s, client, request.debtor_ref)
        parts: dict[str, list[HeldRecord]] = {}
        for sealed in await access_store.parts(s, access_id):
            if sealed.part is None or key is None:
                parts[sealed.service] = []
                continue
            try:
                parts[sealed.service] = list(open_part(key, client, request.debtor_ref, sealed.part).records)
            except SealBroken:  # never another person's data: an answer that does not open is shown empty
                log.warning("a service's part of an access request did not open",
                            extra={"fields": {"access_id": str(access_id), "service": sealed.service}})
                parts[sealed.service] = []
    return AccessAnswer(request, held, parts)


async def on_access_answered(event: DebtorAccessAnswered, ctx: HandlerContext) -> None:
    """A service's part kept; once every service holding a copy has answered, the request is complete."""
    s, client = ctx.session, ctx.envelope.client
    found = await access_store.get(s, client, event.access_id, lock=True)  # one answer at a time
    if found is None or found.debtor_ref != event.debtor_ref:
        log.warning("an answer to an access request reporting did not make was ignored",
                    extra={"fields": {"access_id": str(event.access_id), "service": event.service}})
        return
    await access_store.add_part(s, access_id=found.id, service=event.service, part=event.part,
                                records=event.records, at=event.answered_at)
    if set(ERASING_SERVICES) <= {*found.answered_by, event.service}:
        await access_store.complete(s, found.id, ctx.now)
