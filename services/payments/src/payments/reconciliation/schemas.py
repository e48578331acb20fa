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

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [{
        "id": "9d1e4b7a-2c5f-4a8e-b3d6-1f7c9e2a5b80", "account": "principal", "kind": "wompi", "day": "2026-12-02",
        "status": "differences", "window_start": "2026-12-02T00:00:00-05:00",
        "window_end": "2026-12-03T00:00:00-05:00", "reported": 214, "approved_there": 208,
        "approved_there_total": "31450000.00", "applied_here": 207, "applied_here_total": "31300000.00",
        "differences": [{"kind": "missing_here", "gateway_payment_id": "120934-1733170412-48211", "currency": "COP",
                         "amount_there": "150000.00", "in_suspense": True}],
        "ran_at": "2026-12-03T04:00:12-05:00"}]})

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
