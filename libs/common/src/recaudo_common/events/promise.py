"""The promise.* events: a debtor's promise to pay, and whether it was kept, broken, cancelled or reopened (topic
`promise`)."""

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


@register
class PromiseReopened(Event):
    type = "promise.reopened"
    family = "promise"
    producer = "payments"
    summary = ("A promise kept is pending again: money that kept it was taken back (a reversal, refund or chargeback) "
               "before its grace day ended, and what is still paid toward it no longer reaches it. Readers undo "
               "its promise.kept; a later promise.kept or promise.broken decides it.")

    promise_id: UUID
    account_ref: str
    reopened_at: dt.datetime
    paid_amount: Decimal  # what is still paid toward it
    payment_id: UUID  # the payment whose money was taken back
    reason: Literal["reversal", "refund", "chargeback"]  # how it was taken back, as payment.reversed's `kind`
