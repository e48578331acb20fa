"""Rectifying a debtor's contact points: every account of the person corrected, re-sealed and announced
(account.contact_rectified), the new phones and e-mail made to find them, who and why recorded, in one
transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from ingest.domain.rectification import ContactField, correction
from ingest.privacy import store as privacy_store
from ingest.records import ClientCompany
from ingest.rectification import store
from ingest.store import outbox
from recaudo_common.db import Database
from recaudo_common.domain_errors import Invalid, NotFound
from recaudo_common.events import AccountContactRectified
from recaudo_common.personal_data import LookupKind, PersonalData, Vault, seal


@dataclass(frozen=True)
class RectificationRequest:
    """What an operator asked to correct (`given`: the fields the request named) and why."""

    given: set[str]
    phones: list[str] | None
    email: str | None
    address: str | None
    reason: str


@dataclass(frozen=True)
class Rectified:
    debtor_ref: UUID
    accounts: list[str]
    fields: list[ContactField]


async def rectify(db: Database, vault: Vault, *, client: ClientCompany, id_number: str,
                  request: RectificationRequest, by: str, now: dt.datetime) -> Rectified:
    """Corrects the contact points of the client company's debtor with this id number on every account of
    theirs. Invalid (every reason at once) for a value that cannot be taken; NotFound when the client company
    holds no such person (never held, or erased). A request that changes nothing is recorded, announced to no one."""
    fixed, refusals = correction(given=request.given, phones=request.phones, email=request.email,
                                 address=request.address, country=client.country)
    if refusals:
        raise Invalid("invalid_contact_points", "; ".join(f"{r.loc[-1]}: {r.reason}" for r in refusals),
                      title="Invalid contact points",
                      errors=[{"loc": list(r.loc), "msg": r.reason, "type": r.code} for r in refusals])
    slug = client.slug
    async with db.transaction() as s:
        debtor_ref = await vault.find(s, slug, "id_number", id_number)
        key = await vault.key_of(s, slug, debtor_ref) if debtor_ref is not None else None
        accounts = [a for a in await privacy_store.person_on_accounts(s, slug, debtor_ref)
                    if a.debtor_id is not None and a.full_name is not None] if debtor_ref is not None else []
        if debtor_ref is None or key is None or not accounts:
            raise NotFound("a debtor of this client company with that id number")  # the id number never echoed
        held = [PersonalData(full_name=a.full_name or "", id_number=a.debtor_id or "", id_type=a.debtor_id_type,
                             phones=a.phones, email=a.email, address=a.address) for a in accounts]
        fields = fixed.changes(held)
        refs = [a.account_ref for a in accounts]
        if fields:
            await store.correct_accounts(s, slug, refs, fixed)
            points: list[tuple[UUID, LookupKind, str]] = [(debtor_ref, "phone", p) for p in fixed.phones]
            await vault.index_many(s, slug, points + ([(debtor_ref, "email", fixed.email)] if fixed.email else []))
            # The operator's reason is free text that may name the person: it stays with the record below, never on
            # the account topic, which is kept forever (dead letters too) and which no erasure reaches.
            events = []
            for ref, person in zip(refs, held, strict=True):
                corrected = fixed.applied_to(person)
                events.append(AccountContactRectified(
                    account_ref=ref, debtor_ref=debtor_ref, personal=seal(key, slug, debtor_ref, corrected),
                    has_phone=bool(corrected.phones), has_email=corrected.email is not None, fields=fields,
                    rectified_by=by, rectified_at=now).envelope(client=slug, occurred_at=now))
            await outbox.add(s, events)
        await store.record(s, client=slug, debtor_ref=debtor_ref, account_refs=refs, fields=fields, by=by,
                           reason=request.reason, now=now)
    return Rectified(debtor_ref=debtor_ref, accounts=refs, fields=fields)
