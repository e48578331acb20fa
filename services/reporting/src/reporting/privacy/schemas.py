"""The privacy API's bodies (v1): an access request's answer, an erasure, a client company's retention."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from recaudo_common.pagination import Page
from reporting.privacy.access import AccessAnswer
from reporting.privacy.access_store import AccessRequest
from reporting.privacy.handlers import PersonalDataHeld
from reporting.privacy.store import Erasure
from reporting.schemas import ACCOUNT_ARRANGEMENT_EXAMPLE
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


# The example person's consent evidence on their one account: the client's file granted e-mail and SMS, the
# debtor withdrew e-mail with an e-mail's one-click unsubscribe.
_CONSENTS: list[JsonValue] = [
    {"account_ref": "CR-2024-000187", "channel": channel, "what": what, "source": source, "recorded_at": at,
     "evidence": evidence, "text_version": None}
    for channel, what, source, at, evidence in (
        ("email", "granted", "client_file", "2026-09-01T08:16:47-05:00", "5c2e8a1f-3d7b-4e9c-b6a0-8f4d2e1c7b53"),
        ("sms", "granted", "client_file", "2026-09-01T08:16:47-05:00", "5c2e8a1f-3d7b-4e9c-b6a0-8f4d2e1c7b53"),
        ("email", "withdrawn", "unsubscribe", "2026-11-18T10:02:31-05:00", "e7b3d1f9-2c4a-4b8e-9d6f-1a3c5e7b9d20"))]


class PersonalDataOut(BaseModel):
    """v1: everything the platform holds about one person for one client company (Ley 1581 art. 8 (a) and
    art. 14; ARCO access; Ley 29733 access). This read itself is in `access_log`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "debtor_ref": "8b1d3f5a-7c9e-4b2d-a6f8-0c2e4a6b8d19",
        "identity": {"full_name": "María Gómez Restrepo", "id_number": "1020304050", "id_type": "CC",
                     "phones": ["+573001234567"], "email": "maria.gomez@correo.example",
                     "address": "Calle Falsa 123, Bogotá"},
        "contact_points": [
            {"kind": "phone", "value": "+573001234567", "channels": ["sms", "whatsapp", "voice", "agent"],
             "consents": [_CONSENTS[1]]},
            {"kind": "email", "value": "maria.gomez@correo.example", "channels": ["email"],
             "consents": [_CONSENTS[0], _CONSENTS[2]]},
            {"kind": "address", "value": "Calle Falsa 123, Bogotá", "channels": ["letter"], "consents": []}],
        "accounts": [{"account_ref": "CR-2024-000187", "product": "Tarjeta de crédito", "placed_balance": "850000.00",
                      "balance": "600000.00", "status": "open", "placed_at": "2026-09-01T08:16:47-05:00",
                      "recalled_at": None}],
        "contacts": [
            {"account_ref": "CR-2024-000187", "channel": "sms", "template": "sms/es-CO",
             "at": "2026-11-25T09:00:04-05:00", "attempted": True, "delivered": True, "outcome": None},
            {"account_ref": "CR-2024-000187", "channel": "agent", "template": None, "at": "2026-12-03T10:42:00-05:00",
             "attempted": True, "delivered": True, "outcome": "promise_to_pay"}],
        "payments": [{"account_ref": "CR-2024-000187", "payment_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                      "amount": "250000.00", "reversed_amount": "0.00", "paid_at": "2026-11-30T10:15:00-05:00"}],
        "promises": [{"account_ref": "CR-2024-000187", "promise_id": "a4c8e2f6-1b3d-4e5f-8a7c-9d0e1f2a3b4c",
                      "amount": "150000.00", "due_date": "2026-12-15", "made_at": "2026-12-03T10:42:00-05:00",
                      "source": "agent", "result": None, "decided_at": None}],
        "arrangements": [{**ACCOUNT_ARRANGEMENT_EXAMPLE, "account_ref": "CR-2024-000187"}],
        "holds": [{"account_ref": "CR-2024-000187", "hold": "dispute", "what": "set",
                   "at": "2026-10-06T11:20:00-05:00"},
                  {"account_ref": "CR-2024-000187", "hold": "dispute", "what": "lifted",
                   "at": "2026-10-20T15:05:12-05:00"}],
        "consents": _CONSENTS,
        "access_log": [{"what": "access", "by_key": "3b5d7f9a-1c2e-4f6a-8b0d-2e4f6a8c0b1d", "by_role": "operator",
                        "at": "2026-12-05T09:30:12-05:00"}]}]})

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


class HeldRecordOut(Out):
    """A record of the person's data that a service holds, with its values exactly as held."""

    kind: str = Field(description="what it is: ingest's account (as the client's file stated it), rejected_row, "
                                  "refused_upload_first_row, rectification; outreach's account, contact, "
                                  "outgoing, reply, opt_out, do_not_contact, invalid_contact_point, hold_note, "
                                  "whatsapp_inbound; payments' account, payment, reversal_reason, write_off_note")
    account_ref: str | None
    at: dt.datetime | None
    where: str | None = Field(description="where it is held, when that says more (an upload and its row)")
    values: dict[str, str]


class AccessRequestAccepted(BaseModel):
    """v1: an access request sent to every service holding the person's data; follow it at
    /access-requests/{id}/status (not logged) and read the answer at /access-requests/{id} (logged)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "2d4f6a8c-0b1d-4e3f-9a5c-7e9b1d3f5a7c", "status": "in_progress"}]})
    id: uuid.UUID
    status: Literal["in_progress", "completed"]


class AccessRequestStatusOut(BaseModel):
    """v1: how far an access request is, without any personal data: which services answered and whether all did.
    Not a read of the person's data, so not in the access log; GET …/access-requests/{id} is (the copy)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "2d4f6a8c-0b1d-4e3f-9a5c-7e9b1d3f5a7c", "status": "in_progress",
        "requested_at": "2026-12-05T09:30:12-05:00", "completed_at": None, "answered_by": ["ingest", "payments"]}]})

    id: uuid.UUID
    status: Literal["in_progress", "completed"]
    requested_at: dt.datetime
    completed_at: dt.datetime | None
    answered_by: list[str] = Field(description="the services whose part is in")

    @classmethod
    def of(cls, request: AccessRequest) -> AccessRequestStatusOut:
        return cls(id=request.id, status="completed" if request.completed_at else "in_progress",
                   requested_at=request.requested_at, completed_at=request.completed_at,
                   answered_by=request.answered_by)


class AccessRequestOut(BaseModel):
    """v1: everything the platform holds about one person for one client company: what reporting holds (as
    GET …/personal-data answers) and every record each other service holds (`held_by_service`), complete once
    `status` is completed. This read itself is in the access log."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "2d4f6a8c-0b1d-4e3f-9a5c-7e9b1d3f5a7c", "status": "completed",
        "requested_at": "2026-12-05T09:30:12-05:00", "completed_at": "2026-12-05T09:30:13-05:00",
        "answered_by": ["ingest", "outreach", "payments"],
        "personal_data": PersonalDataOut.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index]
        "held_by_service": {
            "ingest": [{"kind": "rejected_row", "account_ref": None, "at": "2026-09-01T08:16:47-05:00",
                        "where": "upload 0c2e4a6b-8d19-4b1d-a6f8-3f5a7c9e4b2d, row 7",
                        "values": {"Cédula": "1020304050", "Nombre": "María Gómez Restrepo", "Saldo": "abc"}}],
            "outreach": [{"kind": "reply", "account_ref": "CR-2024-000187", "at": "2026-11-25T09:14:02-05:00",
                          "where": None, "values": {"channel": "sms", "body": "BAJA"}}],
            "payments": [{"kind": "write_off_note", "account_ref": "CR-2024-000187",
                          "at": "2026-12-01T16:00:00-05:00", "where": None,
                          "values": {"note": "sin empleo desde octubre"}}]}}]})

    id: uuid.UUID
    status: Literal["in_progress", "completed"]
    requested_at: dt.datetime
    completed_at: dt.datetime | None
    answered_by: list[str] = Field(description="the services whose part is in")
    personal_data: PersonalDataOut
    held_by_service: dict[str, list[HeldRecordOut]]

    @classmethod
    def of(cls, client: str, answer: AccessAnswer) -> AccessRequestOut:
        request = answer.request
        return cls(id=request.id, status="completed" if request.completed_at else "in_progress",
                   requested_at=request.requested_at, completed_at=request.completed_at,
                   answered_by=request.answered_by, personal_data=PersonalDataOut.of(client, answer.held),
                   held_by_service={service: [HeldRecordOut.model_validate(r) for r in records]
                                    for service, records in answer.parts.items()})


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
    status: Literal["in_progress", "completed", "refused"]


ERASURE_EXAMPLE: JsonDict = {
    "id": "6a3f9d2e-4b1c-4e8a-9f7d-2c5b8e1a4d93", "status": "completed", "reason": "request",
    "note": "Solicitud de supresión del titular, radicado SUP-2026-0341 (Ley 1581 de 2012)",
    "account_refs": ["CR-2019-004512"], "requested_at": "2026-12-03T10:00:00-05:00",
    "completed_at": "2026-12-03T10:00:41-05:00", "confirmed_by": ["ingest", "outreach", "payments"]}


class ErasureOut(BaseModel):
    """v1: an erasure of a person's data, without any of it."""

    model_config = ConfigDict(json_schema_extra={"examples": [ERASURE_EXAMPLE]})
    id: uuid.UUID
    status: Literal["in_progress", "completed", "refused"] = Field(description=(
        "refused: payments found one of the person's accounts active again (a chargeback, a reversal or a "
        "restatement reopened it, or a new one was placed) before anything was erased; nothing was"))
    reason: Literal["request", "retention"] = Field(description="why: the person's request, or retention's end")
    note: str | None = Field(description="the requester's own words, when given")
    account_refs: list[str]
    requested_at: dt.datetime
    completed_at: dt.datetime | None = Field(description="when it completed, or was refused")
    confirmed_by: list[str] = Field(description="the services that confirmed they erased their copy")

    @classmethod
    def of(cls, erasure: Erasure) -> ErasureOut:
        return cls(id=erasure.id, status=erasure.status,
                   reason=erasure.reason, note=erasure.note, account_refs=erasure.account_refs,
                   requested_at=erasure.requested_at, completed_at=erasure.completed_at,
                   confirmed_by=erasure.confirmed_by)


class ErasuresOut(Page[ErasureOut]):
    """v1: a page of the client company's erasures, newest first; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [ERASURE_EXAMPLE],
        "next": "/v1/clients/banco-andino/erasures?cursor=WyIyMDI2LTEyLTAzVDE1OjAwOjAwKzAwOjAwIiwiNmEzZjlkMmUtNGIxYy0"
                "0ZThhLTlmN2QtMmM1YjhlMWE0ZDkzIl0&limit=100"}]})


class RetentionIn(BaseModel):
    """v1: how many days after a person's last account was recalled or closed their data is erased; null keeps it
    (no automatic erasure)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"days_after_closure": 1825}]})
    days_after_closure: int | None = Field(..., ge=0, le=36500)


class RetentionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"client": "banco-andino", "days_after_closure": 1825}]})
    client: str
    days_after_closure: int | None

