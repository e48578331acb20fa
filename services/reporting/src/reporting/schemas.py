"""Reporting's API bodies (v1): the recovery report with every KPI, roll rates, commission, the account view."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from reporting.domain.kpis import Facts, rates, recovery_rate

Rate = float | None


class RecoveryFigures(BaseModel):
    """v1: amounts are decimal strings; rates are fractions, null where their denominator is zero."""

    accounts_placed: int
    placed_balance: Decimal
    accounts_recalled: int
    recovered: Decimal
    payments: int
    recovery_rate: float
    attempts: int
    contact_cost: Decimal
    accounts_contacted: int
    accounts_right_party: int
    right_party_contacts: int
    simulated_attempts: int = Field(description="the sandbox provider's attempts: no message was really sent, so "
                                                "no other figure counts them")
    promises_made: int
    promises_due: int
    promises_kept: int
    accounts_liquidated: int
    outstanding: Decimal = Field(Decimal(0), description="left to pay now on the placed accounts still worked: "
                                                         "not paid, settled, written off or recalled")
    written_off: Decimal = Field(Decimal(0), description="written off in the period, net of the write-offs "
                                                         "reversed in it")
    accounts_written_off: int = Field(0, description="accounts written off (wholly or in part) in the period "
                                                    "and not reversed in it")
    recovered_after_write_off: Decimal = Field(Decimal(0), description="of `recovered`, what recovered money "
                                                                      "written off before (net of reversals)")
    written_off_balance: Decimal = Field(Decimal(0), description="written off and not recovered now (as of the "
                                                                "report, whatever the period), on these accounts")
    contact_rate: Rate
    right_party_contact_rate: Rate
    ptp_rate: Rate
    kept_promise_rate: Rate
    cost_ratio: Rate
    liquidation_rate: Rate


    @classmethod
    def of(cls, facts: Facts) -> RecoveryFigures:
        """A group's facts with every rate made of them (floats on the wire, as v1 always gave them)."""
        def number(value: Decimal | None) -> float | None:
            return float(value) if value is not None else None

        r = rates(facts)
        return cls(
            accounts_placed=facts.accounts_placed, placed_balance=facts.placed_balance,
            accounts_recalled=facts.accounts_recalled, recovered=facts.recovered, payments=facts.payments,
            recovery_rate=float(recovery_rate(facts.recovered, facts.placed_balance)), attempts=facts.attempts,
            contact_cost=facts.contact_cost, accounts_contacted=facts.accounts_contacted,
            accounts_right_party=facts.accounts_right_party, right_party_contacts=facts.right_party_contacts,
            simulated_attempts=facts.simulated_attempts,
            promises_made=facts.promises_made, promises_due=facts.promises_due, promises_kept=facts.promises_kept,
            accounts_liquidated=facts.accounts_liquidated, outstanding=facts.outstanding,
            written_off=facts.written_off, accounts_written_off=facts.accounts_written_off,
            recovered_after_write_off=facts.recovered_after_write_off,
            written_off_balance=facts.written_off_balance, contact_rate=number(r.contact_rate),
            right_party_contact_rate=number(r.right_party_contact_rate), ptp_rate=number(r.ptp_rate),
            kept_promise_rate=number(r.kept_promise_rate), cost_ratio=number(r.cost_ratio),
            liquidation_rate=number(r.liquidation_rate))


class RecoveryGroup(RecoveryFigures):
    key: str


class RecoveryReport(BaseModel):
    """v1: the client company's currency and locale come with its figures, so a page shows them as it writes
    money, numbers and dates (the dashboard, with the browser's Intl)."""

    client: str
    currency: str = Field(description="ISO 4217 code of every amount", examples=["COP"])
    locale: str = Field(description="the client company's BCP 47 locale, to show the figures in", examples=["es-CO"])
    as_of: dt.datetime
    group_by: str | None
    date_from: dt.datetime | None = None
    date_to: dt.datetime
    totals: RecoveryFigures
    groups: list[RecoveryGroup]


class RollRateOut(BaseModel):
    period: str
    bucket: str
    accounts: int
    rolled_forward: int
    stayed: int
    rolled_back: int
    cured: int
    recalled: int
    roll_rate: Rate
    cure_rate: Rate


class RollRatesReport(BaseModel):
    """v1: month over month, where the accounts of each bucket at one month's end are at the next month's end."""

    client: str
    months: list[str]
    items: list[RollRateOut]


class CommissionRatesIn(BaseModel):
    """v1: the agency's commission per bucket at placement, as fractions (0.15 = 15 %)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "rates": {"1-30": "0.08", "31-60": "0.12", "61-90": "0.15", "91-120": "0.18", "121-180": "0.22"},
        "default": "0.25"}]})
    rates: dict[str, Decimal] = Field(description="bucket at placement -> rate")
    default: Decimal | None = Field(None, ge=0, le=1, description="the rate of any bucket not listed")


class CommissionRatesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "rates": {"1-30": "0.08", "31-60": "0.12", "61-90": "0.15"}, "default": "0.25"}]})
    client: str
    rates: dict[str, Decimal]
    default: Decimal | None


class CommissionLine(BaseModel):
    bucket: str
    recovered: Decimal
    rate: Decimal
    commission: Decimal
    remittance: Decimal


class CommissionReport(BaseModel):
    """v1: recovered, the agency's commission and the remittance due to the client company, per bucket."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "currency": "COP", "date_from": "2026-11-01T00:00:00-05:00",
        "date_to": "2026-12-01T00:00:00-05:00",
        "items": [{"bucket": "31-60", "recovered": "48250000.00", "rate": "0.12", "commission": "5790000.00",
                   "remittance": "42460000.00"},
                  {"bucket": "61-90", "recovered": "21400000.00", "rate": "0.15", "commission": "3210000.00",
                   "remittance": "18190000.00"}],
        "totals": {"bucket": "total", "recovered": "69650000.00", "rate": "0", "commission": "9000000.00",
                   "remittance": "60650000.00"}}]})
    client: str
    currency: str
    date_from: dt.datetime | None
    date_to: dt.datetime
    items: list[CommissionLine]
    totals: CommissionLine


class ArrangementOut(BaseModel):
    arrangement_id: uuid.UUID
    kind: str | None
    total_amount: Decimal | None
    instalments: int | None
    source: str | None
    made_at: dt.datetime | None
    result: str | None
    decided_at: dt.datetime | None


class ContactSeen(BaseModel):
    channel: str
    at: dt.datetime
    attempted: bool
    delivered: bool
    outcome: str | None
    simulated: bool = Field(False, description="the sandbox provider's: no message was really sent, and no KPI "
                                               "counts it as a contact")


class BestTimeOut(BaseModel):
    """v1: the best slot outreach learned for the account's segment on one of its channels, in the debtor's local
    weekday (0 = Monday) and hour: its rate of good outcomes (reply, promise, payment; shrunk toward the segment's)
    and the messages sent in it over the lookback."""

    channel: str
    dow: int
    hour: int
    label: str = Field(description="the slot in Spanish: 'martes 19h'")
    rate: Decimal
    n: int
    learned_at: dt.datetime


class AccountView(BaseModel):
    """v1: one account as operators and its client company see it, with why it is treated as it is."""

    client: str
    account_ref: str
    status: str
    recalled_at: dt.datetime | None
    product: str | None
    placed_at: dt.datetime
    placed_balance: Decimal
    balance: Decimal
    recovered: Decimal
    days_past_due: int | None
    bucket: str | None
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
    arrangements: list[ArrangementOut] = []
    last_contacts: list[ContactSeen] = []
    best_times: list[BestTimeOut] = Field([], description="the best slot learned for its segment on each of its "
                                                          "channels (none before anything is learned)")
