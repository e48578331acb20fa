"""The debtor.* events of a data-protection erasure (topic `debtor`, kept forever): proposed by reporting; payments,
the owner of every balance, checks again that no account of the person is an active obligation in the transaction
that erases its copy, and confirms or refuses; once payments has confirmed, reporting asks ingest and outreach,
each confirms it erased its copy, then the person's key is shredded.

They carry only pseudonymous ids, so they may be kept forever: a restored backup replays them to erase again the
people erased after it was taken."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from uuid import UUID

from pydantic import Field

from recaudo_common.events.envelope import Event, register

# The services that hold a copy of a person's data in their own tables and must confirm its erasure before the
# person's key is shredded. Segmentation keeps none (only whether a phone or an e-mail exists); reporting, which
# runs the erasure, keeps only sealed copies.
ERASING_SERVICES: tuple[str, ...] = ("ingest", "outreach", "payments")
ErasingService = Literal["ingest", "outreach", "payments"]
ErasureReason = Literal["request", "retention"]


class _OfAPerson(Event):
    """Every debtor.* event names its person, and is keyed by them, so a person's events stay in order on one
    partition (not registered: no event of this type is sent)."""

    debtor_ref: UUID

    def key(self, client: str) -> str:
        return f"{client}/{self.debtor_ref}"


class _ErasureOrder(_OfAPerson):
    """What an erasure asks, proposed to payments first and then requested of ingest and outreach: the same fields
    (not registered: no event of this type is sent)."""

    erasure_id: UUID
    account_refs: list[str] = Field(description="every account of the person with the client company")
    reason: ErasureReason
    requested_at: dt.datetime


@register
class DebtorErasureProposed(_ErasureOrder):
    type = "debtor.erasure_proposed"
    family = "debtor"
    producer = "reporting"
    summary = ("A person's data is to be erased (on request, or when retention ends), decided on reporting's read "
               "model: payments checks on its ledger that none of the person's accounts is an active obligation, "
               "in the transaction that erases its copy, and confirms (debtor.erasure_confirmed) or refuses "
               "(debtor.erasure_refused).")


@register
class DebtorErasureRefused(_OfAPerson):
    type = "debtor.erasure_refused"
    family = "debtor"
    producer = "payments"
    summary = ("Payments found an account of the person active again (a chargeback, a reversal or a restatement "
               "reopened it, or a new one was placed) when it was to erase its copy: nothing was erased anywhere, "
               "and the erasure ends refused.")

    erasure_id: UUID
    active_account_refs: list[str] = Field(description="the person's accounts that are an active obligation")
    refused_at: dt.datetime


@register
class DebtorErasureRequested(_ErasureOrder):
    type = "debtor.erasure_requested"
    family = "debtor"
    producer = "reporting"
    summary = ("A person's data is to be erased and payments has confirmed no account of theirs is active: ingest "
               "and outreach erase their copy for these accounts and confirm.")


@register
class DebtorErasureConfirmed(_OfAPerson):
    type = "debtor.erasure_confirmed"
    family = "debtor"
    producer = "ingest, outreach, payments"
    summary = "A service erased its copy of the person's data (idempotent: confirmed again if asked again)."

    erasure_id: UUID
    service: ErasingService
    erased_rows: int = Field(description="rows changed or deleted in the service's tables")
    confirmed_at: dt.datetime


@register
class DebtorErased(_OfAPerson):
    type = "debtor.erased"
    family = "debtor"
    producer = "reporting"
    summary = ("Every service confirmed and the person's key was shredded: every sealed copy anywhere is "
               "unreadable. Replayed after a restore to shred again.")

    erasure_id: UUID
    account_refs: list[str] = Field(default=[], description=(
        "the person's accounts, as in the request: a service restored from a backup erases its copy again by them"))
    reason: ErasureReason
    erased_at: dt.datetime


@register
class DebtorAccessRequested(_OfAPerson):
    type = "debtor.access_requested"
    family = "debtor"
    producer = "reporting"
    summary = ("A person asked what is held about them (an access request): every service that holds a copy of "
               "their data answers with all it holds (debtor.access_answered).")

    access_id: UUID
    account_refs: list[str] = Field(description="every account of the person with the client company")
    requested_at: dt.datetime


@register
class DebtorAccessAnswered(_OfAPerson):
    type = "debtor.access_answered"
    family = "debtor"
    producer = "ingest, outreach, payments"
    summary = ("A service's part of an access request: every record of the person's data it holds, sealed with "
               "their key (recaudo_common.personal_data.HeldPart), so the topic never holds it in clear.")

    access_id: UUID
    service: ErasingService
    part: str | None = Field(description="the service's HeldPart sealed with the person's key; null when their "
                                         "key is gone (erased meanwhile)")
    records: int = Field(description="how many records the part holds")
    answered_at: dt.datetime
