"""The read models' rows as typed values: what handlers hand the store and what the store answers queries."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple


class Placement(NamedTuple):
    """An account as placed: one row of `place_accounts`, in its columns' order."""

    client: str
    account_ref: str
    balance: Decimal
    placed_at: dt.datetime
    product: str | None
    debtor_ref: uuid.UUID | None  # the debtor's pseudonym; None in an event written before #19
    personal: str | None  # their data sealed with their own key: ciphertext only, never opened here


class Segmentation(NamedTuple):
    """Segmentation's assignment of an account at an instant: one row of `set_segments`, in its columns' order
    (the client company, the account, the event, when, then the assignment)."""

    client: str
    account_ref: str
    event_id: uuid.UUID
    at: dt.datetime
    bucket: str
    bucket_at_placement: str
    segment: str
    days_past_due: int
    treatment: str
    channels: list[str]
    propensity: Decimal
    cost_to_collect: Decimal
    expected_net_recovery: Decimal
    value_tier: str | None
    strategy_version: int
    strategy_arm: str
    model_version: str
    offer: str | None
    why: str
    bucket_low: int | None  # the bucket's first day past due; None in a v1 event
    days_past_due_as_of: dt.date | None  # the client company's day days_past_due is for; None in an event before it
    aging_held: bool | None  # whether they stand still from that day (a plan, a closed account); None likewise


class ContactNews(NamedTuple):
    """What one contact.* event says of a contact: one row of `record_contacts`. Contacts arrive as several events
    in any order (attempted, delivered, logged, withdrawn), each adding what it knows."""

    contact_id: uuid.UUID
    client: str
    account_ref: str
    channel: str
    at: dt.datetime | None
    attempted: bool = False
    cost: Decimal | None = None
    delivered: bool = False
    outcome: str | None = None
    template: str | None = None
    simulated: bool = False
    best_time_arm: str | None = None
    withdrawn: bool = False  # contact.withdrawn: the call was handed out and never made


class AppliedPayment(NamedTuple):
    """A payment as payment.applied tells it: one row of `record_payments`, in its columns' order."""

    payment_id: uuid.UUID
    event_id: uuid.UUID
    client: str
    account_ref: str
    amount: Decimal
    paid_at: dt.datetime
    applied_at: dt.datetime  # when reporting learned of it: its freshness is measured to here
    new_balance: Decimal
    status: str


@dataclass(frozen=True)
class AccountRow:
    """An account as the read models hold it, with what was recovered on it (net of reversals)."""

    status: str
    recalled_at: dt.datetime | None
    product: str | None
    placed_at: dt.datetime
    placed_balance: Decimal
    balance: Decimal
    recovered: Decimal
    days_past_due: int | None  # as segmentation last said them: recaudo_common.accounts.days_past_due_on ages them
    days_past_due_as_of: dt.date | None
    aging_held: bool | None
    current_bucket: str | None
    bucket_at_placement: str | None
    segment: str | None
    treatment: str | None
    channels: list[str] | None
    offer: str | None
    propensity: Decimal | None
    cost_to_collect: Decimal | None
    expected_net_recovery: Decimal | None
    value_tier: str | None
    strategy_version: int | None
    strategy_arm: str | None
    model_version: str | None
    why: str | None


@dataclass(frozen=True)
class ArrangementRow:
    arrangement_id: uuid.UUID
    kind: str | None
    total_amount: Decimal | None
    instalments: int | None
    source: str | None
    made_at: dt.datetime | None
    result: str | None
    decided_at: dt.datetime | None


@dataclass(frozen=True)
class ContactRow:
    channel: str
    at: dt.datetime
    attempted: bool
    delivered: bool
    outcome: str | None
    simulated: bool


class MonthEndState(NamedTuple):
    period: int  # the month-end's place in `ends`, from 1
    account_ref: str
    state: str | None  # a bucket, 'paid', 'settled', 'written_off' or 'recalled'; None before its first segmentation
    bucket_low: int | None  # a bucket's first day past due, as assigned or else as last seen; None if never
