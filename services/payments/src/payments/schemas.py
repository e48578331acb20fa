"""Payments' wire contracts: the bodies its API takes and answers (v1), the same models its handlers are given."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from recaudo_common.instalments import MAX_INSTALMENTS
from recaudo_common.pagination import Page


class ManualPaymentIn(BaseModel):
    """v1: a payment an operator enters by hand. account_ref or debtor_id identifies the account."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "account_ref": "CR-2024-000187", "amount": "150000.00", "currency": "COP",
        "paid_at": "2026-12-02T15:20:00-05:00", "method": "consignacion", "reference": "Bancolombia 88412093"}]})
    account_ref: str | None = Field(None, min_length=1, max_length=64)
    debtor_id: str | None = Field(None, min_length=1, max_length=32)
    amount: Decimal = Field(gt=0, lt=Decimal(10) ** 12, max_digits=16, decimal_places=2,
                            description="decimal string, e.g. \"150000.00\"")
    currency: str | None = Field(None, min_length=3, max_length=3)
    paid_at: AwareDatetime
    method: str | None = Field(None, max_length=50)
    reference: str | None = Field(None, max_length=200)
    another_deposit: bool = Field(False, description=(
        "true once the operator has checked that a bank statement's line of the same amount to the account, posted "
        "in the days after paid_at, is another deposit than this one: without it such a payment is refused 409 "
        "possible_duplicate, so that one deposit is not applied twice"))



class PaymentOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "e2a7c4f1-9b3d-4c8e-a1f5-6d2b8e4c7a90", "status": "applied", "amount": "150000.00", "currency": "COP",
        "account_ref": "CR-2024-000187", "matched_by": "account_ref", "new_balance": "450000.00", "credit": "0.00",
        "account_status": "open"}]})
    id: uuid.UUID
    status: Literal["applied", "unmatched", "duplicate"] = Field(description=(
        "duplicate: held in suspense as maybe a deposit already applied, and closed by an operator as that one "
        "(nothing booked)"))
    amount: Decimal
    currency: str
    account_ref: str | None = None
    matched_by: str | None = None
    reason: str | None = None
    new_balance: Decimal | None = None
    credit: Decimal | None = None
    account_status: str | None = None


class WebhookIn(BaseModel):
    """v1: what a gateway notifies; a refund or chargeback names the original payment in `refers_to`, and its
    `amount` is what it takes back (all that remains of the payment when absent)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["payment", "refund", "chargeback"] = "payment"
    payment_id: str = Field(min_length=1, max_length=200)
    client: str = Field(min_length=1, max_length=100)
    account_ref: str | None = Field(None, max_length=64)
    link_token: str | None = Field(None, max_length=2000)
    debtor_id: str | None = Field(None, max_length=32)
    amount: Decimal | None = Field(None, gt=0, lt=Decimal(10) ** 12, max_digits=16, decimal_places=2,
                                   description="required for a payment")
    currency: str = Field(min_length=3, max_length=3)
    paid_at: AwareDatetime
    method: str | None = Field(None, max_length=50)
    refers_to: str | None = Field(None, max_length=200)



class WebhookOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "applied",
                                                               "payment_id": "118594-1764706800-27344"}]})

    status: Literal["applied", "duplicate", "unmatched", "reversed"]
    payment_id: str


class WebhookRejectionOut(BaseModel):
    """v1: refused webhooks counted per (gateway, source address, reason). `folded` rows hold, per reason, the
    sources that the cap on distinct rows folded away (least recently seen first)."""

    id: int
    gateway: str | None
    source_address: str | None
    reason: str
    count: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    sample: dict[str, Any] = Field(description="the latest refused request's shape: sizes and a body hash, no "
                                               "content")
    folded: bool = False
    received_at: dt.datetime = Field(description="the same as last_seen, for readers of the per-request list")


class WebhookRejectionList(Page[WebhookRejectionOut]):
    """v1: a page of refused webhooks, the most recently seen first; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"id": 87, "gateway": "wompi", "source_address": "203.0.113.24", "reason": "bad_signature",
                   "count": 14, "first_seen": "2026-12-01T22:03:51-05:00", "last_seen": "2026-12-03T22:41:09-05:00",
                   "sample": {"body_bytes": 1184, "body_sha256": "9f2c4e1a7b3d5f60", "signature_header_chars": 78},
                   "folded": False, "received_at": "2026-12-03T22:41:09-05:00"}],
        "next": "/v1/webhooks/payments/rejections?cursor=WyIyMDI2LTEyLTA0VDAzOjQxOjA5KzAwOjAwIiw4N10&limit=100"}]})


class ReversalIn(BaseModel):
    """v1: `amount` is what to take back, at most what remains un-reversed of the payment (all of it when absent)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500)
    amount: Decimal | None = Field(None, gt=0, lt=Decimal(10) ** 12, max_digits=16, decimal_places=2,
                                   description="decimal string, e.g. \"15000.00\"")


class ReversalOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "status": "reversed", "id": "e2a7c4f1-9b3d-4c8e-a1f5-6d2b8e4c7a90",
        "reversal_id": "0c4d9e1a-7f2b-4b6c-8d3e-5a1f9c2e7b64", "amount": "50000.00", "payment_amount": "150000.00",
        "reversed_total": "50000.00", "remaining": "100000.00", "account_ref": "CR-2024-000187",
        "new_balance": "500000.00", "account_status": "open"}]})
    status: Literal["reversed", "duplicate"]
    id: uuid.UUID
    reversal_id: uuid.UUID | None = None
    amount: Decimal | None = None
    payment_amount: Decimal | None = None
    reversed_total: Decimal | None = None
    remaining: Decimal | None = None
    account_ref: str | None = None
    new_balance: Decimal | None = None
    account_status: str | None = None


class AssignIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"account_ref": "CR-2024-000187"}]})
    account_ref: str = Field(min_length=1, max_length=200)
    another_deposit: bool = Field(False, description=(
        "true once the operator has checked that this bank line or payment recorded by hand is another deposit "
        "than a payment recorded by hand (or a bank line) of the same amount already applied to the account in "
        "the same days: without it such a payment is refused 409 possible_duplicate, so that one deposit is not "
        "applied twice"))


class InstalmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due_date: dt.date
    amount: Decimal = Field(gt=0, max_digits=16, decimal_places=2)


class ArrangementIn(BaseModel):
    """v1: a settlement is one instalment (the discounted amount by its deadline); a plan has 2 to 12, within the
    client company's limits (instalments_min, instalments_max, min_instalment_amount)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "instalment_plan", "instalments": [{"due_date": "2026-12-15", "amount": "200000.00"},
                                                    {"due_date": "2027-01-15", "amount": "200000.00"},
                                                    {"due_date": "2027-02-15", "amount": "200000.00"}]},
        {"kind": "settlement", "instalments": [{"due_date": "2026-12-20", "amount": "420000.00"}]}]})
    kind: Literal["settlement", "instalment_plan"]
    instalments: list[InstalmentIn] = Field(min_length=1, max_length=MAX_INSTALMENTS)


class ArrangementOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "1e5a9c3f-7b2d-4f6e-8a0c-4d2f6b8e0a13", "kind": "instalment_plan", "total_amount": "600000.00",
        "status": "active", "instalments": [{"due_date": "2026-12-15", "amount": "200000.00"},
                                            {"due_date": "2027-01-15", "amount": "200000.00"},
                                            {"due_date": "2027-02-15", "amount": "200000.00"}]}]})
    id: uuid.UUID
    kind: str
    total_amount: Decimal
    status: str
    instalments: list[InstalmentIn]


class PlanInstalmentOut(BaseModel):
    """v1: one instalment of an arrangement, a promise of its own: what the payments toward the plan, applied to
    its instalments in order, give it, its verdict, and its own payment link while the plan stands and it is
    not fully paid."""

    number: int
    promise_id: uuid.UUID
    due_date: dt.date
    amount: Decimal
    paid: Decimal
    status: Literal["pending", "kept", "broken", "cancelled"]
    payment_url: str | None


class ArrangementView(BaseModel):
    """v1: an arrangement as it stands: active, kept (paid in full) or broken (missed instalments; the account
    reverts)."""

    id: uuid.UUID
    kind: Literal["settlement", "instalment_plan"]
    status: Literal["active", "kept", "broken"]
    source: str
    total_amount: Decimal
    paid_amount: Decimal
    made_at: dt.datetime
    decided_at: dt.datetime | None
    instalments: list[PlanInstalmentOut]


class ArrangementList(BaseModel):
    """v1: an account's arrangements, the latest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{
        "id": "1e5a9c3f-7b2d-4f6e-8a0c-4d2f6b8e0a13", "kind": "instalment_plan", "status": "active",
        "source": "operator", "total_amount": "600000.00", "paid_amount": "200000.00",
        "made_at": "2026-12-03T10:50:00-05:00", "decided_at": None,
        "instalments": [
            {"number": 1, "promise_id": "c3e5a7b9-1d2f-4a6c-8e0b-2d4f6a8c0e13", "due_date": "2026-12-15",
             "amount": "200000.00", "paid": "200000.00", "status": "kept", "payment_url": None},
            {"number": 2, "promise_id": "d4f6b8c0-2e3a-4b7d-9f1c-3e5a7b9d1f24", "due_date": "2027-01-15",
             "amount": "200000.00", "paid": "0.00", "status": "pending",
             "payment_url": "https://pagos.recaudo.example/pay/eyJjIjoiYmFuY28tYW5kaW5vIiwiZSI6MTc2OTk5MDM5OX0.Y3VvdGEy"},
            {"number": 3, "promise_id": "e5a7c9d1-3f4b-4c8e-a02d-4f6b8c0e2a35", "due_date": "2027-02-15",
             "amount": "200000.00", "paid": "0.00", "status": "pending",
             "payment_url": "https://pagos.recaudo.example/pay/eyJjIjoiYmFuY28tYW5kaW5vIiwiZSI6MTc3MjQwOTU5OX0.Y3VvdGEz"}]}]}]})

    items: list[ArrangementView]


class BankFileOut(BaseModel):
    """v1: what became of each row of a bank file, or why the whole file was refused."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "d3b7f1a9-5c2e-4e8b-a6d4-7f9c1e3b5a28", "filename": "recaudo-bancolombia-2026-12-02.txt",
        "received_at": "2026-12-03T07:45:10-05:00", "counts": {"applied": 2, "unmatched": 1},
        "results": [{"row": 2, "status": "applied", "reference": "CR-2024-000187", "amount": "150000.00",
                     "payment_id": "e2a7c4f1-9b3d-4c8e-a1f5-6d2b8e4c7a90"},
                    {"row": 3, "status": "applied", "reference": "CR-2024-000342", "amount": "85000.00",
                     "payment_id": "7b1c3d5e-9f2a-4b4c-8d6e-0f1a2b3c4d5e"},
                    {"row": 4, "status": "unmatched", "reference": "99887766", "amount": "60000.00",
                     "payment_id": "2f4a6c8e-0b1d-4e3f-a5b7-c9d1e3f5a7b9"}],
        "format": "asobancaria2001", "status": "reconciled"}]})
    id: uuid.UUID
    filename: str | None
    received_at: dt.datetime
    counts: dict[str, int]
    results: list[dict[str, Any]]
    format: str = Field("csv", description="csv or asobancaria2001")
    # A file refused whole (an Asobancaria file whose totals disagree, or malformed) is kept as a failed upload
    # is at ingest: status failed, with its error_code and error_detail, and here also the line and field at fault.
    status: str = Field("reconciled", description="reconciled, or failed: refused whole, nothing of it applied")
    error_code: str | None = Field(None, description="bank_file_malformed or bank_file_totals_mismatch")
    error_detail: str | None = None
    error_line: int | None = Field(None, description="the line of the file at fault")
    error_field: str | None = Field(None, description="the field of that line's record at fault")


class UnmatchedPaymentOut(BaseModel):
    """v1: a suspense payment with what the payer and the gateway said, to find it in the gateway's dashboard."""

    id: uuid.UUID
    amount: Decimal
    currency: str
    paid_at: AwareDatetime
    source: str
    method: str | None
    gateway: str | None = Field(None, description="the gateway (or bank file) it came from; none if manual")
    gateway_payment_id: str | None = Field(None, description="the gateway's own id (a bank's transaction id)")
    account_ref_given: str | None = Field(None, description="the account the payer named, if any")
    debtor_id_given: str | None = None
    reference: str | None = Field(None, description="the reference given (a payment-link token, a bank reference)")
    reason: str | None
    received_at: dt.datetime


class UnmatchedList(Page[UnmatchedPaymentOut]):
    """v1: a page of the suspense queue, the first received first; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"id": "2f4a6c8e-0b1d-4e3f-a5b7-c9d1e3f5a7b9", "amount": "60000.00", "currency": "COP",
                   "paid_at": "2026-12-02T00:00:00-05:00", "source": "bank_file", "method": "bank_transfer",
                   "gateway": "bank_file:banco-andino", "gateway_payment_id": "000458812",
                   "account_ref_given": "99887766", "debtor_id_given": None, "reference": "99887766",
                   "reason": "unknown_account_ref", "received_at": "2026-12-03T07:45:10-05:00"}],
        "next": "/v1/clients/banco-andino/payments/unmatched?cursor=WyIyMDI2LTEyLTAzVDEyOjQ1OjEwKzAwOjAwIiwiMmY0YTZjOG"
                "UtMGIxZC00ZTNmLWE1YjctYzlkMWUzZjVhN2I5Il0&limit=100"}]})


ACCOUNT_PAYMENT_EXAMPLE: JsonDict = {
    "id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "paid_at": "2026-11-30T10:15:00-05:00",
    "received_at": "2026-11-30T10:15:02-05:00", "amount": "250000.00", "reversed_amount": "0.00",
    "currency": "COP", "source": "gateway", "method": "pse", "reference": "RC7Q2M4K8D1X9W3B5N6P0T",
    "status": "applied"}


class AccountPaymentOut(BaseModel):
    """v1: a payment applied to the account, and how much of it was reversed since."""

    model_config = ConfigDict(json_schema_extra={"examples": [ACCOUNT_PAYMENT_EXAMPLE]})
    id: uuid.UUID
    paid_at: AwareDatetime
    received_at: AwareDatetime
    amount: Decimal
    reversed_amount: Decimal = Field(description="taken back by refunds, chargebacks or an operator's reversal")
    currency: str
    source: str = Field(description="gateway, bank_file or manual")
    method: str | None
    reference: str | None = Field(description="the payment's reference at its gateway or bank, if any")
    status: str = Field(description="applied (whole or partly reversed) or reversed (all of it)")


class AccountPaymentList(Page[AccountPaymentOut]):
    """v1: a page of an account's payments, newest first; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [ACCOUNT_PAYMENT_EXAMPLE],
        "next": "/v1/clients/banco-andino/accounts/CR-2024-000187/payments?cursor=WyIyMDI2LTExLTMwVDE1OjE1OjAyKzAwOj"
                "AwIiwiNmYxYzJkM2UtNGI1YS00YzZkLThlN2YtOWEwYjFjMmQzZTRmIl0&limit=100"}]})


class SameDepositOut(BaseModel):
    """v1: a payment held in suspense as maybe a deposit already applied (a bank line that may be a payment
    recorded by hand, `possible_duplicate`, or the other way round, `already_banked`), closed as the other record
    of the payment it answers (`same_as`): it leaves the suspense queue and nothing is booked."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0193a1f0-6c1e-7d2a-9b1e-5f0c2d3e4a5b", "status": "duplicate",
        "same_as": "0193a1e2-1a2b-7c3d-8e4f-5a6b7c8d9e0f"}]})
    id: uuid.UUID
    status: Literal["duplicate"]
    same_as: uuid.UUID
