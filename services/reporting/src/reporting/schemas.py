"""Reporting's API bodies (v1): the recovery report with every KPI, roll rates, commission, the account view."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.config import JsonDict

from reporting.domain.kpis import Facts, rates, recovery_rate

Rate = float | None


def _day_or_instant(value: object) -> object:
    """A bare day (YYYY-MM-DD) is read as a day, not as midnight without a UTC offset (refused: a time needs one)."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value)  # 2026-02-30 raises: a 422 as any value that is no day
    return value


# A period's `from` or `to`: an instant with a UTC offset, or a day (its first instant in the client company's time
# zone: reporting.domain.periods.instant_of).
PeriodBound = Annotated[dt.datetime | dt.date, BeforeValidator(_day_or_instant)]
BOUND_DOC = ("an instant with a UTC offset, or a day (YYYY-MM-DD): the first instant of that day in the client "
             "company's time zone; the period is [from, to), so to=2026-12-01 ends November")
MONTH_DOC = ("a month of the client company's calendar, YYYY-MM, both included: from=2026-03&to=2026-05 is March, "
             "April and May (a day such as 2026-03-01 is refused)")


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
    right_party_promises: int = Field(0, description="of `right_party_contacts`, those that ended in a promise to "
                                                     "pay: the PTP rate's numerator")
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
            right_party_promises=facts.right_party_promises,
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


# The example recovery report's figures: November, by bucket at placement; the totals are the buckets' sums.
_RECOVERY_31_60: JsonDict = {
    "accounts_placed": 1843, "placed_balance": "2764500000.00", "accounts_recalled": 12, "recovered": "402150000.00",
    "payments": 968, "recovery_rate": 0.145469, "attempts": 9214, "contact_cost": "1105680.00",
    "accounts_contacted": 1710, "accounts_right_party": 1122, "right_party_contacts": 1390, "simulated_attempts": 0,
    "right_party_promises": 604, "promises_made": 611, "promises_due": 512, "promises_kept": 377,
    "accounts_liquidated": 211,
    "outstanding": "2290350000.00", "written_off": "0.00", "accounts_written_off": 0,
    "recovered_after_write_off": "0.00", "written_off_balance": "0.00", "contact_rate": 0.927835,
    "right_party_contact_rate": 0.60879, "ptp_rate": 0.434532, "kept_promise_rate": 0.736328, "cost_ratio": 0.002749,
    "liquidation_rate": 0.114487}
_RECOVERY_61_90: JsonDict = {
    "accounts_placed": 962, "placed_balance": "1587300000.00", "accounts_recalled": 9, "recovered": "158730000.00",
    "payments": 402, "recovery_rate": 0.1, "attempts": 6131, "contact_cost": "2975400.00", "accounts_contacted": 874,
    "accounts_right_party": 515, "right_party_contacts": 655, "simulated_attempts": 0, "right_party_promises": 298,
    "promises_made": 340, "promises_due": 260, "promises_kept": 151, "accounts_liquidated": 64,
    "outstanding": "1398420000.00",
    "written_off": "12800000.00", "accounts_written_off": 7, "recovered_after_write_off": "1450000.00",
    "written_off_balance": "11350000.00", "contact_rate": 0.908524, "right_party_contact_rate": 0.535343,
    "ptp_rate": 0.454962, "kept_promise_rate": 0.580769, "cost_ratio": 0.018745, "liquidation_rate": 0.066528}
_RECOVERY_TOTALS: JsonDict = {
    "accounts_placed": 2805, "placed_balance": "4351800000.00", "accounts_recalled": 21, "recovered": "560880000.00",
    "payments": 1370, "recovery_rate": 0.128885, "attempts": 15345, "contact_cost": "4081080.00",
    "accounts_contacted": 2584, "accounts_right_party": 1637, "right_party_contacts": 2045, "simulated_attempts": 0,
    "right_party_promises": 902, "promises_made": 951, "promises_due": 772, "promises_kept": 528,
    "accounts_liquidated": 275,
    "outstanding": "3688770000.00", "written_off": "12800000.00", "accounts_written_off": 7,
    "recovered_after_write_off": "1450000.00", "written_off_balance": "11350000.00", "contact_rate": 0.921212,
    "right_party_contact_rate": 0.583601, "ptp_rate": 0.441076, "kept_promise_rate": 0.683938, "cost_ratio": 0.007276,
    "liquidation_rate": 0.098039}


class RecoveryReport(BaseModel):
    """v1: the client company's currency and locale come with its figures, so a page shows them as it writes
    money, numbers and dates (the dashboard: amounts as the server writes them, the rest with the browser's Intl)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "currency": "COP", "locale": "es-CO", "as_of": "2026-12-05T08:00:00-05:00",
        "group_by": "bucket", "date_from": "2026-11-01T00:00:00-05:00", "date_to": "2026-12-01T00:00:00-05:00",
        "totals": _RECOVERY_TOTALS,
        "groups": [{"key": "31-60", **_RECOVERY_31_60}, {"key": "61-90", **_RECOVERY_61_90}]}]})
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
    written_off: int = Field(description="of `accounts`, written off by the second month's end (to the loss: in "
                                         "the roll rate)")
    recalled: int
    roll_rate: Rate
    cure_rate: Rate


class RollRatesReport(BaseModel):
    """v1: month over month, where the accounts of each bucket at one month's end are at the next month's end."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "months": ["2026-10", "2026-11"],
        "items": [{"period": "2026-10→2026-11", "bucket": "31-60", "accounts": 1843, "rolled_forward": 402,
                   "stayed": 1113, "rolled_back": 0, "cured": 309, "written_off": 7, "recalled": 12,
                   "roll_rate": 0.223375, "cure_rate": 0.16876},
                  {"period": "2026-10→2026-11", "bucket": "61-90", "accounts": 962, "rolled_forward": 288,
                   "stayed": 487, "rolled_back": 71, "cured": 107, "written_off": 0, "recalled": 9,
                   "roll_rate": 0.302204, "cure_rate": 0.112277}]}]})

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


ACCOUNT_ARRANGEMENT_EXAMPLE: JsonDict = {
    "arrangement_id": "1e5a9c3f-7b2d-4f6e-8a0c-4d2f6b8e0a13", "kind": "instalment_plan", "total_amount": "600000.00",
    "instalments": 3, "source": "operator", "made_at": "2026-12-03T10:50:00-05:00", "result": None,
    "decided_at": None}


class AccountView(BaseModel):
    """v1: one account as operators and its client company see it, with why it is treated as it is."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "account_ref": "CR-2024-000187", "status": "open", "recalled_at": None,
        "product": "Tarjeta de crédito", "placed_at": "2026-09-01T08:16:47-05:00", "placed_balance": "850000.00",
        "balance": "600000.00", "recovered": "250000.00", "days_past_due": 74, "bucket": "61-90",
        "bucket_at_placement": "31-60", "segment": "61-90/high", "treatment": "voicebot_and_agent",
        "channels": ["sms", "voice", "agent"], "offer": "none", "propensity": "0.5000", "cost_to_collect": "9585.00",
        "expected_net_recovery": "290415.00", "value_tier": "high", "strategy_version": 7, "strategy_arm": "champion",
        "model_version": "scorecard-v1",
        "why": "bucket 61-90; propensity 0.5000 (31-90 days past due (0)); expected recovery 300000.00 (high value); "
               "champion strategy v7: voicebot_and_agent every 3 days, cost to collect 9585.00; mejor momento (sms): "
               "miércoles 9h, tasa 0.27, n=380",
        "arrangements": [ACCOUNT_ARRANGEMENT_EXAMPLE],
        "last_contacts": [
            {"channel": "agent", "at": "2026-12-03T10:42:00-05:00", "attempted": True, "delivered": True,
             "outcome": "promise_to_pay", "simulated": False},
            {"channel": "sms", "at": "2026-11-25T09:00:04-05:00", "attempted": True, "delivered": True,
             "outcome": None, "simulated": False}],
        "best_times": [{"channel": "sms", "dow": 2, "hour": 9, "label": "miércoles 9h", "rate": "0.2714", "n": 380,
                        "learned_at": "2026-12-01T02:00:00-05:00"}]}]})

    client: str
    account_ref: str
    status: str
    recalled_at: dt.datetime | None
    product: str | None
    placed_at: dt.datetime
    placed_balance: Decimal
    balance: Decimal
    recovered: Decimal
    days_past_due: int | None = Field(description=(
        "days past due on the client company's day now: as segmentation last said them, plus a day for each day "
        "since while the account is open and no instalment plan holds its aging (MISSION §5); null before its "
        "first assignment"))
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
