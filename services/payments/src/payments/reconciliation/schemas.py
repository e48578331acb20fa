"""Reconciliation's wire contracts (v1): the day an operator asks for, and the report (counts, totals and each
difference, by gateway payment id; ids and amounts only, nothing about a payer)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

ReportStatus = Literal["clean", "differences", "failed", "not_configured"]


class ReconciliationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"day": "2026-12-02"}]})

    day: dt.date  # the client company's local day, already over


class DifferenceOut(BaseModel):
    """missing_here: approved at the gateway, not applied (`in_suspense`: it waits in the suspense queue);
    missing_there: applied here, not reported approved by the gateway that day; amount_mismatch; status_mismatch:
    refunded, charged back or not approved there but applied here, or refunded by another amount."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["missing_here", "missing_there", "amount_mismatch", "status_mismatch"]
    gateway_payment_id: str
    currency: str
    amount_there: Decimal | None = None
    amount_here: Decimal | None = None
    status_there: str | None = None
    status_here: str | None = None
    in_suspense: bool = False


class ReconciliationOut(BaseModel):
    """v1: one gateway account's day. `failed` and `not_configured` say why in `reason` and list no differences
    (a failed day is run again at the next period, never reported clean from a part of the gateway's answer)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    account: str
    kind: str
    day: dt.date
    status: ReportStatus
    reason: str | None = None
    window_start: dt.datetime
    window_end: dt.datetime
    reported: int = 0
    approved_there: int = 0
    approved_there_total: Decimal = Decimal(0)
    applied_here: int = 0
    applied_here_total: Decimal = Decimal(0)
    differences: list[DifferenceOut] = []
    ran_at: dt.datetime
