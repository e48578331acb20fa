"""The event envelope of MISSION §9 and the whole catalogue of versioned event types.

Every event that crosses a topic is declared here, once, as a frozen pydantic model. Producers and
consumers import these models; `recaudo catalogue` generates docs/events.md from them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar, Literal
from uuid import UUID

import uuid_utils.compat as uuid_compat
from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["sms", "email", "whatsapp", "voice", "agent", "letter"]
CHANNELS: tuple[str, ...] = ("sms", "email", "whatsapp", "voice", "agent", "letter")

# Topics group one aggregate's events; the key is the account (client/account_ref) so that one
# account's events stay in order, or the client slug for client-level events.
TOPIC_NAMES: tuple[str, ...] = ("client", "account", "contact", "promise", "arrangement", "payment")


def topic_name(prefix: str, family: str) -> str:
    return f"{prefix}.{family}"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def new_event_id() -> UUID:
    """UUIDv7: time-ordered, so ids sort roughly by creation."""
    return uuid_compat.uuid7()


class Envelope(BaseModel):
    """What travels on a topic: routing metadata around a versioned payload."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    type: str
    version: int
    occurred_at: dt.datetime
    client: str
    key: str
    correlation_id: UUID
    causation_id: UUID | None = None
    payload: dict[str, Any]


class Event(BaseModel):
    """Base of every event payload. Subclasses set the class variables below."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    version: ClassVar[int] = 1
    family: ClassVar[str]
    producer: ClassVar[str]
    summary: ClassVar[str]

    def key(self, client: str) -> str:
        ref = getattr(self, "account_ref", None)
        return f"{client}/{ref}" if ref else client

    def envelope(
        self, *, client: str, occurred_at: dt.datetime, correlation_id: UUID | None = None,
        causation: Envelope | None = None,
    ) -> Envelope:
        event_id = new_event_id()
        correlation = correlation_id or (causation.correlation_id if causation else event_id)
        return Envelope(
            event_id=event_id, type=self.type, version=self.version, occurred_at=occurred_at, client=client,
            key=self.key(client), correlation_id=correlation,
            causation_id=causation.event_id if causation else None,
            payload=self.model_dump(mode="json"),
        )


REGISTRY: dict[tuple[str, int], type[Event]] = {}


def register(cls: type[Event]) -> type[Event]:
    REGISTRY[(cls.type, cls.version)] = cls
    return cls


class UnknownEventError(Exception):
    pass


def decode(envelope: Envelope) -> Event:
    cls = REGISTRY.get((envelope.type, envelope.version))
    if cls is None:
        raise UnknownEventError(f"no event type {envelope.type} v{envelope.version}")
    return cls.model_validate(envelope.payload)


def family_of(event_type: str) -> str:
    return event_type.split(".", 1)[0]


# ---------------------------------------------------------------- client.*


class ClientSettings(Event):
    slug: str
    name: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    currency: str = Field(description="ISO 4217")
    timezone: str = Field(description="IANA time zone")
    locale: str
    default_authorised_channels: list[Channel]
    max_discount_pct: Decimal = Field(Decimal("40"), description="the largest settlement discount it allows")


@register
class ClientRegistered(ClientSettings):
    type = "client.registered"
    family = "client"
    producer = "ingest"
    summary = "A client company was created; every service keeps its own copy of its settings."


@register
class ClientUpdated(ClientSettings):
    type = "client.updated"
    family = "client"
    producer = "ingest"
    summary = "A client company's settings changed."


# ---------------------------------------------------------------- account.*


class AccountStated(Event):
    """An account as the client company states it in a portfolio file."""

    account_ref: str
    portfolio_id: UUID
    debtor_id: str
    debtor_id_type: str | None = None
    full_name: str
    phones: list[str] = []
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    product: str | None = None
    original_amount: Decimal | None = None
    balance: Decimal
    currency: str
    due_date: dt.date | None = None
    days_past_due: int = Field(description="days past due as of `as_of`")
    as_of: dt.date
    authorised_channels: list[Channel]
    last_payment_date: dt.date | None = None
    last_payment_amount: Decimal | None = None
    extra: dict[str, str] = {}


@register
class AccountPlaced(AccountStated):
    type = "account.placed"
    family = "account"
    producer = "ingest"
    summary = "An account was placed with the agency for the first time."


@register
class AccountUpdated(AccountStated):
    type = "account.updated"
    family = "account"
    producer = "ingest"
    summary = "A later portfolio restated a known account (balance, contact data, days past due)."

    previous_balance: Decimal


@register
class AccountRecalled(Event):
    type = "account.recalled"
    family = "account"
    producer = "ingest"
    summary = "The client company took the account back; all contact stops at once."

    account_ref: str
    recalled_at: dt.datetime
    reason: str | None = None


@register
class AccountSegmented(Event):
    type = "account.segmented"
    family = "account"
    producer = "segmentation"
    summary = "The account was (re)assigned a bucket, segment and treatment, with the reasons why."

    account_ref: str
    days_past_due: int
    bucket: str
    bucket_at_placement: str
    segment: str
    treatment: str
    channels: list[Channel]
    propensity: Decimal
    cost_to_collect: Decimal
    expected_net_recovery: Decimal
    strategy_version: int
    strategy_arm: Literal["champion", "challenger"]
    model_version: str
    why: str
    trigger: str
    value_tier: str | None = None
    cadence_days: int | None = None
    offer: Literal["none", "settlement", "instalment_plan", "do_not_pursue"] | None = None
    offer_discount_pct: Decimal | None = None
    offer_instalments: int | None = None


@register
class AccountSettled(Event):
    type = "account.settled"
    family = "account"
    producer = "payments"
    summary = "A settlement was paid in full: the account is closed as settled."

    account_ref: str
    arrangement_id: UUID | None = None
    settled_at: dt.datetime


@register
class AccountLegalHoldSet(Event):
    type = "account.legal_hold_set"
    family = "account"
    producer = "outreach"
    summary = "An operator set a legal hold (dispute, deceased, insolvency, litigation); contact stops."

    account_ref: str
    hold: Literal["dispute", "deceased", "insolvency", "litigation"]
    set_at: dt.datetime


@register
class AccountLegalHoldLifted(Event):
    type = "account.legal_hold_lifted"
    family = "account"
    producer = "outreach"
    summary = "An operator lifted a legal hold."

    account_ref: str
    hold: Literal["dispute", "deceased", "insolvency", "litigation"]
    lifted_at: dt.datetime


# ---------------------------------------------------------------- contact.*


@register
class ContactAttempted(Event):
    type = "contact.attempted"
    family = "contact"
    producer = "outreach"
    summary = "A message or call was sent to a debtor through a channel provider."

    attempt_id: UUID
    account_ref: str
    channel: Channel
    provider: str
    attempted_at: dt.datetime
    cost: Decimal
    template: str | None = None


@register
class ContactBlocked(Event):
    type = "contact.blocked"
    family = "contact"
    producer = "outreach"
    summary = "The compliance engine refused an attempt; it was rescheduled to next_allowed_at."

    attempt_id: UUID
    account_ref: str
    channel: Channel
    decided_at: dt.datetime
    reasons: list[str]
    next_allowed_at: dt.datetime | None


@register
class ContactDelivered(Event):
    type = "contact.delivered"
    family = "contact"
    producer = "outreach"
    summary = "A provider confirmed delivery of an attempt."

    attempt_id: UUID
    account_ref: str
    channel: Channel
    delivered_at: dt.datetime


@register
class ContactFailed(Event):
    type = "contact.failed"
    family = "contact"
    producer = "outreach"
    summary = "A provider reported that an attempt failed, or its message could not be rendered within budget."

    attempt_id: UUID
    account_ref: str
    channel: Channel
    failed_at: dt.datetime
    reason: str


@register
class ContactLogged(Event):
    type = "contact.logged"
    family = "contact"
    producer = "outreach"
    summary = "An agent logged a contact made outside Recaudo, with its outcome."

    contact_id: UUID
    account_ref: str
    channel: Channel
    contacted_at: dt.datetime
    outcome: Literal["no_answer", "right_party", "third_party", "wrong_number", "refused", "promise_to_pay"]
    rule_violations: list[str] = []


@register
class ContactOptedOut(Event):
    type = "contact.opted_out"
    family = "contact"
    producer = "outreach"
    summary = "The debtor opted out of a channel (STOP, BAJA, NO MAS) or was put on do-not-contact."

    account_ref: str
    channel: Channel | Literal["all"]
    opted_out_at: dt.datetime
    source: str


# ---------------------------------------------------------------- promise.*


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


# ---------------------------------------------------------------- arrangement.*


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
    kind: Literal["settlement", "instalment_plan"]
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
    kind: Literal["settlement", "instalment_plan"]
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


# ---------------------------------------------------------------- payment.*


@register
class PaymentApplied(Event):
    type = "payment.applied"
    family = "payment"
    producer = "payments"
    summary = "A payment was applied to an account's ledger exactly once."

    payment_id: UUID
    account_ref: str
    amount: Decimal
    currency: str
    paid_at: dt.datetime
    source: Literal["gateway", "bank_file", "manual"]
    method: str | None = None
    new_balance: Decimal
    credit: Decimal = Decimal("0")
    account_status: Literal["open", "paid", "settled"]


@register
class PaymentReversed(Event):
    type = "payment.reversed"
    family = "payment"
    producer = "payments"
    summary = ("A payment was reversed, refunded or charged back, always in full; the account reopens. "
               "No longer produced (v2 replaced it), still read from the log.")

    payment_id: UUID
    reversal_id: UUID
    account_ref: str
    amount: Decimal
    kind: Literal["reversal", "refund", "chargeback"]
    reversed_at: dt.datetime
    new_balance: Decimal
    account_status: Literal["open", "paid", "settled"]


@register
class PaymentReversedV2(PaymentReversed):
    """v2: reversals may be partial. `amount` is what this reversal takes back (in v1 it was always the whole
    payment); `payment_amount` and `reversed_total` say how much of the payment is reversed so far. A consumer
    that adds `amount` to what it counts as reversed handles both versions alike; one that took `amount` for the
    whole payment must move to v2 (it cannot decode v2: it dead-letters the event, to be replayed once upgraded,
    rather than miscount)."""

    version = 2
    summary = "A payment was reversed, refunded or charged back, wholly or in part; the account reopens."

    payment_amount: Decimal = Field(description="the payment's whole amount")
    reversed_total: Decimal = Field(description="reversed of the payment so far, this reversal included")


@register
class PaymentUnmatched(Event):
    type = "payment.unmatched"
    family = "payment"
    producer = "payments"
    summary = "A payment matched no account and waits in the suspense queue for an operator."

    payment_id: UUID
    amount: Decimal
    currency: str
    paid_at: dt.datetime
    source: Literal["gateway", "bank_file", "manual"]
    reason: str
