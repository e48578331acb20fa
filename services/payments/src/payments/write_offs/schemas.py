"""The write-off route's wire contracts (v1)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.events import WriteOffReason, WriteOffSource


class WriteOffIn(BaseModel):
    """v1: `reason` is one of the documented set; `note` is a short operator's note for the client company's
    auditors, never personal data (it stays in payments: it is not on any event); `amount` defaults to all that
    is left to pay."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "statute_barred", "note": "Prescrita según concepto jurídico JUR-2026-112"},
        {"reason": "uneconomic", "amount": "150000.00"}]})
    reason: WriteOffReason
    note: str | None = Field(None, min_length=1, max_length=200)
    amount: Decimal | None = Field(None, gt=0, lt=Decimal(10) ** 12, max_digits=16, decimal_places=2,
                                   description="decimal string, e.g. \"15000.00\"")


class WriteOffOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "4f8a2c6e-1d3b-4e7a-9c5f-8b2d6e0a4c17", "account_ref": "CR-2024-000187", "amount": "600000.00",
        "reason": "statute_barred", "source": "operator", "written_off_at": "2026-12-03T11:20:00-05:00",
        "new_balance": "0.00", "written_off_total": "600000.00", "account_status": "written_off"}]})
    id: uuid.UUID
    account_ref: str
    amount: Decimal
    reason: WriteOffReason
    source: WriteOffSource
    written_off_at: dt.datetime
    new_balance: Decimal
    written_off_total: Decimal
    account_status: str


class WriteOffReversalIn(BaseModel):
    """v1: why the write-off is reversed (kept in payments for the client company's auditors; never personal data,
    never on an event)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Castigo registrado por error: la cuenta tenía un acuerdo de pago vigente"}]})
    reason: str = Field(min_length=1, max_length=200)


class WriteOffReversalOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_ref": "CR-2024-000187", "amount": "600000.00", "reversed_at": "2026-12-04T09:05:00-05:00",
        "new_balance": "600000.00", "account_status": "open"}]})
    account_ref: str
    amount: Decimal
    reversed_at: dt.datetime
    new_balance: Decimal
    account_status: str
