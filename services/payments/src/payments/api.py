"""Payments' HTTP API: manual payments with an Idempotency-Key, and the suspense queue."""


import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from payments import handlers, store
from recaudo_common.auth import Principal
from recaudo_common.errors import ProblemError
from recaudo_common.runtime import Platform


class ManualPaymentIn(BaseModel):
    """v1: a payment an operator enters by hand. account_ref or debtor_id identifies the account."""

    model_config = ConfigDict(extra="forbid")
    account_ref: str | None = None
    debtor_id: str | None = None
    amount: Decimal = Field(gt=0, lt=Decimal(10) ** 12, max_digits=16, decimal_places=2,
                            description="decimal string, e.g. \"150000.00\"")
    currency: str | None = None
    paid_at: dt.datetime
    method: str | None = Field(None, max_length=50)
    reference: str | None = Field(None, max_length=200)

    @field_validator("paid_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("paid_at needs a UTC offset")
        return value


class PaymentOut(BaseModel):
    """v1"""

    id: uuid.UUID
    status: Literal["applied", "unmatched"]
    amount: Decimal
    currency: str
    account_ref: str | None = None
    matched_by: str | None = None
    reason: str | None = None
    new_balance: Decimal | None = None
    credit: Decimal | None = None
    account_status: str | None = None


class UnmatchedPaymentOut(BaseModel):
    id: uuid.UUID
    amount: Decimal
    currency: str
    paid_at: dt.datetime
    source: str
    method: str | None
    reference: str | None
    reason: str | None
    received_at: dt.datetime


class UnmatchedList(BaseModel):
    items: list[UnmatchedPaymentOut]


def build_router(platform: Platform) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["payments"])
    Auth = Annotated[Principal, Depends(platform.auth)]

    @router.post("/clients/{slug}/payments", response_model=PaymentOut)
    async def manual_payment(
        slug: str, body: ManualPaymentIn, principal: Auth,
        idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=200)],
    ) -> PaymentOut:
        principal.require_client(slug, roles=("operator",))
        if not body.account_ref and not body.debtor_id:
            raise ProblemError(422, "missing_reference", "Missing reference", "send account_ref or debtor_id")
        result = await handlers.record_manual_payment(
            platform.db, client=slug, idempotency_key=idempotency_key,
            body=body.model_dump(mode="json"), now=platform.clock())
        return PaymentOut.model_validate(result)

    @router.get("/clients/{slug}/payments/unmatched", response_model=UnmatchedList)
    async def unmatched(slug: str, principal: Auth,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> UnmatchedList:
        principal.require_client(slug)
        async with platform.db.transaction() as s:
            rows = await store.list_unmatched(s, slug, limit=limit)
        return UnmatchedList(items=[UnmatchedPaymentOut(**r) for r in rows])

    return router
