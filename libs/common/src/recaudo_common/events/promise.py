"""The promise.* events: a debtor's promise to pay, and whether it was kept, broken or cancelled (topic `promise`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from uuid import UUID

from recaudo_common.events.envelope import Event, register


@register
class PromiseMade(Event):
    type = "promise.made"
    family = "promise"
    producer = "outreach"
    summary = "A debtor promised to pay an amount by a date (agent contact, debtor page or instalment)."

    promise_id: UUID
    account_ref: str
    amount: Decimal
    due_date: dt.date
    source: Literal["agent", "debtor_page", "arrangement"]
    made_at: dt.datetime
    arrangement_id: UUID | None = None


@register
class PromiseKept(Event):
    type = "promise.kept"
    family = "promise"
    producer = "payments"
    summary = "Payments of at least the promised amount arrived by the due date plus the grace day."

    promise_id: UUID
    account_ref: str
    kept_at: dt.datetime


@register
class PromiseBroken(Event):
    type = "promise.broken"
    family = "promise"
    producer = "payments"
    summary = "The grace day passed without payments reaching the promised amount."

    promise_id: UUID
    account_ref: str
    broken_at: dt.datetime
    paid_amount: Decimal


@register
class PromiseCancelled(Event):
    type = "promise.cancelled"
    family = "promise"
    producer = "payments"
    summary = "A promise was cancelled (account recalled, settled, or arrangement replaced)."

    promise_id: UUID
    account_ref: str
    cancelled_at: dt.datetime
    reason: str
