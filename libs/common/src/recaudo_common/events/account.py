"""The account.* events: an account placed, restated, recalled, segmented, settled or put on legal hold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import Field

from recaudo_common.events.channels import Channel
from recaudo_common.events.envelope import Event, register

# Why an operator stops all contact with an account until the hold is lifted.
LegalHold = Literal["dispute", "deceased", "insolvency", "litigation"]


class AccountStated(Event):
    """An account as the client company states it in a portfolio file."""

    account_ref: str
    portfolio_id: UUID
    debtor_ref: UUID | None = Field(None, description=(
        "The debtor's pseudonymous id: a random UUID per person and client company, kept by the vault and never "
        "derived from the id number; the same for every account of that person, and what services will key the "
        "debtor by. Set by ingest since #19 step B1 (absent from earlier events). The plaintext debtor_id, "
        "debtor_id_type, full_name, phones, email and address beside it are removed in a later version."))
    personal: str | None = Field(None, description=(
        "The debtor's personal data (full_name, id_number, id_type, phones, email, address), sealed with the "
        "person's own key (AES-256-GCM, `v1.<nonce>.<ciphertext>`, recaudo_common.personal_data.seal, bound "
        "to client/debtor_ref); unreadable by anyone once the person is erased (the key shredded). Set with "
        "debtor_ref; the plaintext fields beside it are removed in a later version."))
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
    hold: LegalHold
    set_at: dt.datetime


@register
class AccountLegalHoldLifted(Event):
    type = "account.legal_hold_lifted"
    family = "account"
    producer = "outreach"
    summary = "An operator lifted a legal hold."

    account_ref: str
    hold: LegalHold
    lifted_at: dt.datetime
