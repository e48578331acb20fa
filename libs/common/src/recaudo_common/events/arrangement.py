"""The arrangement.* events: settlements and instalment plans requested, made, declined, kept or broken."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from recaudo_common.events.envelope import Event, register

ArrangementKind = Literal["settlement", "instalment_plan"]  # one discounted payment, or instalments


class Instalment(BaseModel):
    model_config = ConfigDict(frozen=True)
    due_date: dt.date
    amount: Decimal


@register
class ArrangementMade(Event):
    type = "arrangement.made"
    family = "arrangement"
    producer = "payments"
    summary = "A settlement offer was accepted or an instalment plan agreed."

    arrangement_id: UUID
    account_ref: str
    kind: ArrangementKind
    total_amount: Decimal
    instalments: list[Instalment]
    made_at: dt.datetime
    source: Literal["operator", "debtor_page"]
    request_id: UUID | None = None  # the debtor page's arrangement.requested it answers


@register
class ArrangementRequested(Event):
    type = "arrangement.requested"
    family = "arrangement"
    producer = "outreach"
    summary = "A debtor accepted an offer on the debtor page; payments makes the arrangement or declines it."

    request_id: UUID
    account_ref: str
    kind: ArrangementKind
    instalments: list[Instalment]
    requested_at: dt.datetime


@register
class ArrangementDeclined(Event):
    type = "arrangement.declined"
    family = "arrangement"
    producer = "payments"
    summary = "Payments could not make a requested arrangement (the account closed, one exists, or it is invalid)."

    request_id: UUID
    account_ref: str
    reason: str
    declined_at: dt.datetime


@register
class ArrangementKept(Event):
    type = "arrangement.kept"
    family = "arrangement"
    producer = "payments"
    summary = "An arrangement was paid in full."

    arrangement_id: UUID
    account_ref: str
    kept_at: dt.datetime


@register
class ArrangementBroken(Event):
    type = "arrangement.broken"
    family = "arrangement"
    producer = "payments"
    summary = "An arrangement was broken by missed instalments; the account reverts."

    arrangement_id: UUID
    account_ref: str
    broken_at: dt.datetime
    missed_instalments: int
