"""An experiment's read-out on the wire (v1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reporting.domain.experiments import Arm, Readout


class ArmOut(BaseModel):
    """v1: one arm's accounts, those that paid (net of reversals, more than zero), the balance placed with them, what
    was recovered from them and its share of that balance."""

    accounts: int
    paying_accounts: int
    placed: Decimal
    recovered: Decimal
    recovery_rate: float

    @classmethod
    def of(cls, arm: Arm) -> ArmOut:
        return cls(accounts=arm.accounts, paying_accounts=arm.paying_accounts, placed=arm.placed,
                   recovered=arm.recovered, recovery_rate=float(arm.recovery_rate))


class ExperimentReport(BaseModel):
    """v1: two arms read out (docs/kpis.md, Experiments). `lift`: the treatment's recovery rate ÷ the control's − 1;
    `p_value`: two-sided two-proportion z-test of the arms' paying shares; `ci95`: the 95 % interval of the treatment's
    paying share minus the control's. All three null only when an arm has no accounts (`lift` too when the control
    recovered nothing). `verdict` waits for `min_accounts_per_arm` in each arm."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "currency": "COP", "date_from": "2026-09-01T00:00:00-05:00",
        "date_to": "2026-12-01T00:00:00-05:00",
        "arms": {"champion": {"accounts": 4012, "paying_accounts": 903, "placed": "6018000000.00",
                              "recovered": "842520000.00", "recovery_rate": 0.14},
                 "challenger": {"accounts": 1003, "paying_accounts": 261, "placed": "1504500000.00",
                                "recovered": "240720000.00", "recovery_rate": 0.16}},
        "lift": 0.142857, "p_value": 0.018369, "ci95": [0.005073, 0.065216], "verdict": "challenger_better",
        "min_accounts_per_arm": 400}]})

    client: str
    currency: str
    date_from: dt.datetime | None
    date_to: dt.datetime | None
    arms: dict[str, ArmOut]
    lift: float | None
    p_value: float | None
    ci95: tuple[float, float] | None = Field(description="[low, high] of the difference in paying shares")
    verdict: Literal["insufficient_data", "challenger_better", "champion_better", "no_difference"]
    min_accounts_per_arm: int

    @classmethod
    def of(cls, *, client: str, currency: str, date_from: dt.datetime | None, date_to: dt.datetime | None,
           arms: dict[str, Arm], readout: Readout, min_accounts: int) -> ExperimentReport:
        return cls(client=client, currency=currency, date_from=date_from, date_to=date_to,
                   arms={name: ArmOut.of(a) for name, a in arms.items()}, lift=readout.lift,
                   p_value=readout.p_value, ci95=readout.ci95, verdict=readout.verdict,
                   min_accounts_per_arm=min_accounts)


class BestTimeArmOut(ArmOut):
    """v1: a best-time arm's accounts and payments as a strategy arm's, and a second read-out: its real attempts
    in the period (the sandbox's never count) and those that reached the debtor (delivered, or an outcome that
    reached someone); `contact_rate` = reached ÷ attempts, null without attempts."""

    attempts: int
    reached: int
    contact_rate: float | None


class BestTimeExperimentReport(BaseModel):
    """v1: best time (treatment) against the first allowed slot (control), read out as the strategy experiment
    (docs/kpis.md, Experiments): `lift` = best_time's recovery rate ÷ first_slot's − 1, `p_value` and `ci95` on
    their paying shares (best_time's minus first_slot's), `verdict` once each arm has `min_accounts_per_arm`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "client": "banco-andino", "currency": "COP", "date_from": "2026-09-01T00:00:00-05:00",
        "date_to": "2026-12-01T00:00:00-05:00",
        "arms": {"first_slot": {"accounts": 2506, "paying_accounts": 512, "placed": "3759000000.00",
                                "recovered": "469875000.00", "recovery_rate": 0.125, "attempts": 7518,
                                "reached": 2932, "contact_rate": 0.389997},
                 "best_time": {"accounts": 2509, "paying_accounts": 574, "placed": "3763500000.00",
                               "recovered": "526890000.00", "recovery_rate": 0.14, "attempts": 7527, "reached": 3387,
                               "contact_rate": 0.44998}},
        "lift": 0.12, "p_value": 0.035441, "ci95": [0.001678, 0.047256], "verdict": "best_time_better",
        "min_accounts_per_arm": 400}]})

    client: str
    currency: str
    date_from: dt.datetime | None
    date_to: dt.datetime | None
    arms: dict[str, BestTimeArmOut]
    lift: float | None
    p_value: float | None
    ci95: tuple[float, float] | None = Field(description="[low, high] of the difference in paying shares")
    verdict: Literal["insufficient_data", "best_time_better", "first_slot_better", "no_difference"]
    min_accounts_per_arm: int

    @classmethod
    def of(cls, *, client: str, currency: str, date_from: dt.datetime | None, date_to: dt.datetime | None,
           arms: dict[str, Arm], contacts: dict[str, tuple[int, int]], readout: Readout,
           min_accounts: int) -> BestTimeExperimentReport:
        verdict = {"challenger_better": "best_time_better", "champion_better": "first_slot_better"}.get(
            readout.verdict, readout.verdict)
        return cls(client=client, currency=currency, date_from=date_from, date_to=date_to, arms={
            name: BestTimeArmOut(**ArmOut.of(a).model_dump(), attempts=contacts[name][0], reached=contacts[name][1],
                                 contact_rate=round(contacts[name][1] / contacts[name][0], 6)
                                 if contacts[name][0] else None)
            for name, a in arms.items()}, lift=readout.lift, p_value=readout.p_value, ci95=readout.ci95,
            verdict=verdict, min_accounts_per_arm=min_accounts)
