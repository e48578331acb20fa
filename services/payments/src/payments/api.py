"""Payments' HTTP API: manual payments and reversals with an Idempotency-Key, and the suspense queue."""


import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from payments import handlers, reversals, store, webhooks
from payments.settings import PaymentsSettings
from recaudo_common.client_copy import ClientCopy
from recaudo_common.dependencies import OPERATOR_ONLY, CurrentPrincipal, PlatformDep, client_of
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.files import FileFormatError
from recaudo_common.money import MARKS
from recaudo_common.webhook_signatures import signature_problem


class ManualPaymentIn(BaseModel):
    """v1: a payment an operator enters by hand. account_ref or debtor_id identifies the account."""

    model_config = ConfigDict(extra="forbid")
    account_ref: str | None = Field(None, min_length=1, max_length=64)
    debtor_id: str | None = Field(None, min_length=1, max_length=32)
    amount: Decimal = Field(gt=0, lt=Decimal(10) ** 12, max_digits=16, decimal_places=2,
                            description="decimal string, e.g. \"150000.00\"")
    currency: str | None = Field(None, min_length=3, max_length=3)
    paid_at: AwareDatetime
    method: str | None = Field(None, max_length=50)
    reference: str | None = Field(None, max_length=200)



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


class WebhookRejectionList(BaseModel):
    items: list[WebhookRejectionOut]


class ReversalIn(BaseModel):
    """v1: `amount` is what to take back, at most what remains un-reversed of the payment (all of it when absent)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500)
    amount: Decimal | None = Field(None, gt=0, lt=Decimal(10) ** 12, max_digits=16, decimal_places=2,
                                   description="decimal string, e.g. \"15000.00\"")


class ReversalOut(BaseModel):
    """v1"""

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

    model_config = ConfigDict(extra="forbid")
    account_ref: str = Field(min_length=1, max_length=200)


class InstalmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due_date: dt.date
    amount: Decimal = Field(gt=0, max_digits=16, decimal_places=2)


class ArrangementIn(BaseModel):
    """v1: a settlement is one instalment (the discounted amount by its deadline); a plan has 2 to 36."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["settlement", "instalment_plan"]
    instalments: list[InstalmentIn] = Field(min_length=1, max_length=36)


class ArrangementOut(BaseModel):
    """v1"""

    id: uuid.UUID
    kind: str
    total_amount: Decimal
    status: str
    instalments: list[InstalmentIn]


class BankFileOut(BaseModel):
    """v1: what became of each row of a bank statement."""

    id: uuid.UUID
    filename: str | None
    received_at: dt.datetime
    counts: dict[str, int]
    results: list[dict[str, Any]]


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


class UnmatchedList(BaseModel):
    items: list[UnmatchedPaymentOut]


def rejection_sample(raw: bytes, signature: str | None) -> dict[str, Any]:
    """What a refused webhook looked like, for an operator comparing sources: sizes and a hash, never the body
    (it may name a debtor) nor the header's text (the sender chose it)."""
    return {"body_bytes": len(raw), "body_sha256": hashlib.sha256(raw).hexdigest()[:16],
            "signature_header_chars": None if signature is None else len(signature)}


WEBHOOK_REJECTIONS = Counter("recaudo_webhook_rejections_total", "Gateway webhooks refused", ["reason"])


APP_STATE = "payments"


@dataclass(frozen=True)
class PaymentsState:
    """What payments' routes read from `app.state` beside the platform: the settings main.build made once (the
    gateways' webhook secrets, the cap on refused-webhook rows), never settings read from the environment at import."""

    settings: PaymentsSettings


def get_settings(request: Request) -> PaymentsSettings:
    state: PaymentsState = getattr(request.app.state, APP_STATE)
    return state.settings


Settings = Annotated[PaymentsSettings, Depends(get_settings)]
# The client company of the path's {slug}, which the caller may see (operator, or the client itself) or operate.
ClientOfCaller = Annotated[ClientCopy, Depends(client_of(store.SCHEMA))]
ClientOfOperator = Annotated[ClientCopy, Depends(client_of(store.SCHEMA, roles=OPERATOR_ONLY))]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=200)]

router = APIRouter(prefix="/v1", tags=["payments"])


@router.post("/webhooks/payments/{gateway}", response_model=WebhookOut,
             responses={401: {"description": "missing, wrong or stale signature (not stored, but recorded)"}})
async def gateway_webhook(gateway: str, request: Request, platform: PlatformDep, settings: Settings) -> WebhookOut:
    """Authenticated by its HMAC-SHA256 signature (header `Recaudo-Signature`), not by an API key."""
    raw = await request.body()
    now = platform.clock()
    problem = signature_problem(request.headers.get("recaudo-signature"), raw, settings.secrets_of(gateway), now=now)
    if problem is not None:
        WEBHOOK_REJECTIONS.labels(problem).inc()
        async with platform.db.transaction() as s:
            await store.record_webhook_rejection(
                s, gateway=gateway, reason=problem, source=request.client.host if request.client else None,
                sample=rejection_sample(raw, request.headers.get("recaudo-signature")), now=now,
                max_rows=settings.webhook_rejection_rows)
        raise ProblemError(401, problem, "Webhook refused", "the signature does not verify; nothing was stored")
    try:
        body = WebhookIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        raise ProblemError(422, "invalid_webhook", "Invalid webhook body", "the body does not match its schema",
                           errors=errors) from exc
    if body.type != "payment" and not body.refers_to:
        raise ProblemError(422, "invalid_webhook", "Invalid webhook body", f"a {body.type} needs refers_to")
    if body.type == "payment" and body.amount is None:
        raise ProblemError(422, "invalid_webhook", "Invalid webhook body", "a payment needs amount")
    result = await webhooks.receive_webhook(platform.db, gateway=gateway, body=body.model_dump(mode="json"),
                                            now=now, link_secret=platform.settings.link_secret)
    return WebhookOut(status=result["status"], payment_id=body.payment_id)


@router.get("/webhooks/payments/rejections", response_model=WebhookRejectionList)
async def webhook_rejections(principal: CurrentPrincipal, platform: PlatformDep,
                             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> WebhookRejectionList:
    principal.require_role("operator", "sre")
    async with platform.db.transaction() as s:
        rows = await store.list_webhook_rejections(s, limit)
    return WebhookRejectionList(items=[WebhookRejectionOut(**r) for r in rows])


# The routes below name {slug} before their other path parameters, as they always did (the OpenAPI keeps its order).
@router.post("/clients/{slug}/payments/{payment_id}/reversal", response_model=ReversalOut)
async def reverse_payment(slug: str, payment_id: uuid.UUID, client: ClientOfOperator, platform: PlatformDep,
                          idempotency_key: IdempotencyKey, body: ReversalIn | None = None) -> ReversalOut:
    """Sent again with the same Idempotency-Key and body, it answers what it answered and reverses nothing
    more; the same key with another body is refused (409 `idempotency_key_reused`)."""
    result = await reversals.reverse_by_operator(
        platform.db, client=client.slug, payment_id=payment_id, idempotency_key=idempotency_key,
        reason=body.reason if body else None, amount=body.amount if body else None, now=platform.clock())
    return ReversalOut.model_validate(result)


@router.post("/clients/{slug}/payments/unmatched/{payment_id}/assign", response_model=PaymentOut)
async def assign(slug: str, payment_id: uuid.UUID, body: AssignIn, client: ClientOfOperator,
                 platform: PlatformDep) -> PaymentOut:
    result = await handlers.assign_unmatched(platform.db, client=client.slug, payment_id=payment_id,
                                             account_ref=body.account_ref, now=platform.clock())
    return PaymentOut.model_validate(result)


@router.post("/clients/{slug}/payments", response_model=PaymentOut)
async def manual_payment(body: ManualPaymentIn, client: ClientOfOperator, platform: PlatformDep,
                         idempotency_key: IdempotencyKey) -> PaymentOut:
    if not body.account_ref and not body.debtor_id:
        raise ProblemError(422, "missing_reference", "Missing reference", "send account_ref or debtor_id")
    result = await handlers.record_manual_payment(
        platform.db, client=client.slug, idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"), now=platform.clock())
    return PaymentOut.model_validate(result)


@router.post("/clients/{slug}/accounts/{account_ref}/arrangements", status_code=201, response_model=ArrangementOut)
async def arrangement(slug: str, account_ref: str, body: ArrangementIn, client: ClientOfOperator,
                      platform: PlatformDep) -> ArrangementOut:
    result = await handlers.make_arrangement(
        platform.db, client=client.slug, account_ref=account_ref, kind=body.kind,
        instalments=[(i.due_date, i.amount) for i in body.instalments], source="operator", now=platform.clock())
    return ArrangementOut.model_validate(result)


@router.post("/clients/{slug}/payments/files", status_code=201, response_model=BankFileOut,
             responses={200: {"model": BankFileOut, "description": "this file was already reconciled"}})
async def bank_file(client: ClientOfOperator, platform: PlatformDep, file: Annotated[UploadFile, File()],
                    locale: Annotated[str | None, Form()] = None) -> JSONResponse:
    content = await file.read(50 * 1024 * 1024 + 1)
    if len(content) > 50 * 1024 * 1024:
        raise ProblemError(413, "file_too_large", "File too large", "a bank file is at most 50 MiB")
    if locale is not None and locale not in MARKS:
        raise ProblemError(422, "invalid_locale", "Invalid locale", f"supported: {sorted(MARKS)}")
    try:
        result, created = await handlers.reconcile_bank_file(platform.db, client=client.slug, content=content,
                                                             filename=file.filename, locale=locale,
                                                             now=platform.clock())
    except FileFormatError as exc:
        raise ProblemError(422, exc.code, "Unreadable bank file", exc.detail) from exc
    body = BankFileOut(**result).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if created else 200)


@router.get("/clients/{slug}/payments/files/{file_id}", response_model=BankFileOut)
async def get_bank_file(slug: str, file_id: uuid.UUID, client: ClientOfCaller, platform: PlatformDep) -> BankFileOut:
    async with platform.db.transaction() as s:
        result = await store.bank_file(s, client.slug, file_id=file_id)
    if result is None:
        raise not_found("bank file")
    return BankFileOut(**result)


@router.get("/clients/{slug}/payments/unmatched", response_model=UnmatchedList)
async def unmatched(client: ClientOfCaller, platform: PlatformDep,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> UnmatchedList:
    async with platform.db.transaction() as s:
        rows = await store.list_unmatched(s, client.slug, limit=limit)
    return UnmatchedList(items=[UnmatchedPaymentOut(**r) for r in rows])
