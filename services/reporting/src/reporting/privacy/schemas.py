"""The privacy API's bodies (v1): an access request's answer, an erasure, a client company's retention."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.pagination import Page
from reporting.privacy.handlers import PersonalDataHeld
from reporting.privacy.store import Erasure
from reporting.schemas import ArrangementOut as AccountArrangementOut

PointKind = Literal["phone", "email", "address"]
# Which channels reach a person through which contact point (consent is recorded per account and channel).
CHANNELS_OF: dict[PointKind, tuple[str, ...]] = {
    "phone": ("sms", "whatsapp", "voice", "agent"), "email": ("email",), "address": ("letter",)}


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class IdentityOut(Out):
    full_name: str
    id_number: str
    id_type: str | None
    phones: list[str]
    email: str | None
    address: str | None


class ConsentOut(Out):
    """A piece of consent evidence: granted or withdrawn, by which source, when, on what reference and text."""

    account_ref: str
    channel: str
    what: Literal["granted", "withdrawn"]
    source: str
    recorded_at: dt.datetime
    evidence: uuid.UUID | None
    text_version: str | None


class ContactPointOut(BaseModel):
    """A way to reach the person, the channels that use it, and the consent evidence of those channels."""

    kind: PointKind
    value: str
    channels: list[str]
    consents: list[ConsentOut]


class AccountOut(Out):
    account_ref: str
    product: str | None
    placed_balance: Decimal
    balance: Decimal
    status: str
    placed_at: dt.datetime
    recalled_at: dt.datetime | None


class ContactOut(Out):
    """A contact attempt (or a contact an agent logged): channel, template, when, delivered, outcome."""

    account_ref: str
    channel: str
    template: str | None
    at: dt.datetime
    attempted: bool
    delivered: bool
    outcome: str | None


class PaymentOut(Out):
    account_ref: str
    payment_id: uuid.UUID
    amount: Decimal
    reversed_amount: Decimal
    paid_at: dt.datetime


class PromiseOut(Out):
    account_ref: str
    promise_id: uuid.UUID
    amount: Decimal | None
    due_date: dt.date | None
    made_at: dt.datetime | None
    source: str | None
    result: str | None
    decided_at: dt.datetime | None


class ArrangementOut(AccountArrangementOut):
    """An arrangement as the account view shows it, with the account it is on."""

    model_config = ConfigDict(from_attributes=True)
    account_ref: str


class HoldOut(Out):
    """A legal hold set or lifted on one of the person's accounts."""

    account_ref: str
    hold: str
    what: Literal["set", "lifted"]
    at: dt.datetime


class AccessOut(Out):
    """Who read the person's data or asked to erase it, and when: the API key's id (none for the retention job)
    and its role."""

    what: Literal["access", "erasure"]
    by_key: uuid.UUID | None
    by_role: str
    at: dt.datetime


class PersonalDataOut(BaseModel):
    """v1: everything the platform holds about one person for one client company (Ley 1581 art. 8 (a) and
    art. 14; ARCO access; Ley 29733 access). This read itself is in `access_log`."""

    client: str
    debtor_ref: uuid.UUID = Field(description="the person's pseudonymous id: what events and tables carry instead "
                                              "of their data")
    identity: IdentityOut
    contact_points: list[ContactPointOut]
    accounts: list[AccountOut]
    contacts: list[ContactOut]
    payments: list[PaymentOut]
    promises: list[PromiseOut]
    arrangements: list[ArrangementOut]
    holds: list[HoldOut]
    consents: list[ConsentOut]
    access_log: list[AccessOut]

    @classmethod
    def of(cls, client: str, found: PersonalDataHeld) -> PersonalDataOut:
        person, held = found.identity, found.held

        def consents_of(kind: PointKind) -> list[ConsentOut]:
            return [ConsentOut.model_validate(c) for c in held.consents if c.channel in CHANNELS_OF[kind]]

        named: list[tuple[PointKind, str | None]] = [("email", person.email), ("address", person.address)]
        points: list[tuple[PointKind, str]] = [("phone", phone) for phone in person.phones] + [
            (kind, value) for kind, value in named if value]
        return cls(
            client=client, debtor_ref=found.debtor_ref,
            identity=IdentityOut(full_name=person.full_name, id_number=person.id_number, id_type=person.id_type,
                                 phones=list(person.phones), email=person.email, address=person.address),
            contact_points=[ContactPointOut(kind=kind, value=value,
                                            channels=list(CHANNELS_OF[kind]), consents=consents_of(kind))
                            for kind, value in points],
            accounts=[AccountOut.model_validate(a) for a in held.accounts],
            contacts=[ContactOut.model_validate(c) for c in held.contacts],
            payments=[PaymentOut.model_validate(p) for p in held.payments],
            promises=[PromiseOut.model_validate(p) for p in held.promises],
            arrangements=[ArrangementOut.model_validate(a) for a in held.arrangements],
            holds=[HoldOut.model_validate(h) for h in held.holds],
            consents=[ConsentOut.model_validate(c) for c in held.consents],
            access_log=[AccessOut.model_validate(e) for e in found.access_log],
        )


class ErasureIn(BaseModel):
    """v1: an erasure request; `reason`, optional, is the requester's own words (kept with the erasure: write no
    personal data in it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Solicitud de supresión del titular, radicado SUP-2026-0341 (Ley 1581 de 2012)"}]})
    reason: str | None = Field(None, max_length=500)


class ErasureAccepted(BaseModel):
    """v1: the erasure started (or the one already running for the person); follow it at /erasures/{id}."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "6a3f9d2e-4b1c-4e8a-9f7d-2c5b8e1a4d93", "status": "in_progress"}]})
    id: uuid.UUID
    status: Literal["in_progress", "completed"]


class ErasureOut(BaseModel):
    """v1: an erasure of a person's data, without any of it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "6a3f9d2e-4b1c-4e8a-9f7d-2c5b8e1a4d93", "status": "completed", "reason": "request",
        "note": "Solicitud de supresión del titular, radicado SUP-2026-0341 (Ley 1581 de 2012)",
        "account_refs": ["CR-2019-004512"], "requested_at": "2026-12-03T10:00:00-05:00",
        "completed_at": "2026-12-03T10:00:41-05:00",
        "confirmed_by": ["ingest", "outreach", "payments"]}]})
    id: uuid.UUID
    status: Literal["in_progress", "completed"]
    reason: Literal["request", "retention"] = Field(description="why: the person's request, or retention's end")
    note: str | None = Field(description="the requester's own words, when given")
    account_refs: list[str]
    requested_at: dt.datetime
    completed_at: dt.datetime | None
    confirmed_by: list[str] = Field(description="the services that confirmed they erased their copy")

    @classmethod
    def of(cls, erasure: Erasure) -> ErasureOut:
        return cls(id=erasure.id, status=erasure.status,
                   reason=erasure.reason, note=erasure.note, account_refs=erasure.account_refs,
                   requested_at=erasure.requested_at, completed_at=erasure.completed_at,
                   confirmed_by=erasure.confirmed_by)


class ErasuresOut(Page[ErasureOut]):
    """v1: a page of the client company's erasures, newest first; `next` links the following page."""


class RetentionIn(BaseModel):
    """v1: how many days after a person's last account was recalled or closed their data is erased; null keeps it
    (no automatic erasure)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"days_after_closure": 1825}]})
    days_after_closure: int | None = Field(..., ge=0, le=36500)


class RetentionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"client": "banco-andino", "days_after_closure": 1825}]})
    client: str
    days_after_closure: int | None

