"""Payments' HTTP API: manual payments and reversals with an Idempotency-Key, and the suspense queue."""


import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from pydantic import ValidationError

from payments import handlers, reversals, store, webhooks
from payments.bank_files import handlers as bank_files
from payments.bank_files.store import BankFile
from payments.gateways.handlers import AccountsByWebhook
from payments.gateways.together import GatewaysTogether
from payments.promises import handlers as promises
from payments.promises import views
from payments.promises.store import ScheduledInstalment
from payments.schemas import (
    AccountPaymentList,
    AccountPaymentOut,
    ArrangementIn,
    ArrangementList,
    ArrangementOut,
    AssignIn,
    BankFileOut,
    InstalmentIn,
    ManualPaymentIn,
    PaymentOut,
    ReversalIn,
    ReversalOut,
    SameDepositOut,
    UnmatchedList,
    WebhookIn,
    WebhookOut,
    WebhookRejectionList,
)
from payments.settings import PaymentsSettings
from payments.webhooks_together import WebhooksTogether
from recaudo_common.auth import Principal
from recaudo_common.client_copy import ClientCopy
from recaudo_common.dependencies import OPERATOR_ONLY, PlatformDep, caller_with, client_of, from_app_state
from recaudo_common.domain_errors import DomainError, NotRecorded
from recaudo_common.errors import ProblemError
from recaudo_common.money import MARKS
from recaudo_common.multipart import form_request_body, read_small_upload
from recaudo_common.pagination import PageRequest, cursor_int, cursor_time, cursor_uuid, page_request
from recaudo_common.personal_data import Vault
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.webhook_signatures import signature_problem

WEBHOOK_REJECTIONS = Counter("recaudo_webhook_rejections_total", "Gateway webhooks refused", ["reason"])


APP_STATE = "payments"
# The lists' pages: 100 items unless asked, up to 1000 (what a single answer held before they were paged).
ListPaging = Annotated[PageRequest, page_request(default=100, maximum=1000)]


@dataclass(frozen=True)
class PaymentsState:
    """What payments' routes read from `app.state` beside the platform: the settings main.build made once (the
    gateways' webhook secrets, the cap on refused-webhook rows), never settings read from the environment at import."""

    settings: PaymentsSettings
    vault: Vault  # finds a payer by the id number they give (the vault's blind index), built once per process
    webhooks: WebhooksTogether  # applies verified notifications, plain payments in group commits
    gateway_notifications: GatewaysTogether  # books the gateways' own, plain approvals in group commits
    gateway_accounts: AccountsByWebhook  # the accounts their notifications name, kept for a few seconds


get_state = from_app_state(APP_STATE, PaymentsState)


async def get_settings(request: Request) -> PaymentsSettings:
    return (await get_state(request)).settings


async def get_vault(request: Request) -> Vault:
    return (await get_state(request)).vault


Settings = Annotated[PaymentsSettings, Depends(get_settings)]
VaultDep = Annotated[Vault, Depends(get_vault)]
# The client company of the path's {slug}, which the caller may see (operator, or the client itself) or operate.
ClientOfCaller = Annotated[ClientCopy, Depends(client_of(store.SCHEMA))]
ClientOfOperator = Annotated[ClientCopy, Depends(client_of(store.SCHEMA, roles=OPERATOR_ONLY))]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=200)]

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["payments"])


@router.post("/webhooks/payments/{gateway}", response_model=WebhookOut,
             responses={401: {"description": "missing, wrong or stale signature (not stored, but recorded)"}})
async def gateway_webhook(gateway: str, request: Request, platform: PlatformDep,
                          state: Annotated[PaymentsState, Depends(get_state)]) -> WebhookOut:
    """Authenticated by its HMAC-SHA256 signature (header `Recaudo-Signature`), not by an API key."""
    raw = await request.body()
    now = platform.clock()
    signature = request.headers.get("recaudo-signature")
    settings = state.settings
    problem = signature_problem(signature, raw, settings.secrets_of(gateway), now=now)
    if problem is not None:
        WEBHOOK_REJECTIONS.labels(problem).inc()
        await webhooks.record_rejection(platform.db, gateway=gateway, reason=problem,
                                        source=request.client.host if request.client else None, raw=raw,
                                        signature=signature, now=now, max_rows=settings.webhook_rejection_rows)
        raise ProblemError(401, problem, "Webhook refused", "the signature does not verify; nothing was stored")
    try:
        body = _notification(raw)
        result = await state.webhooks.receive(gateway=gateway, notification=body, now=now)
    except (ProblemError, DomainError) as refused:
        # Signed by the gateway, so it tells of money the gateway moved: refused, it is recorded where an operator
        # reads refused webhooks, as a forged one is (a failure to record, 5xx, is no refusal: it is sent again).
        code = refused.problem.code if isinstance(refused, ProblemError) else refused.code
        if not isinstance(refused, NotRecorded) and code:
            WEBHOOK_REJECTIONS.labels(code).inc()
            await webhooks.record_rejection(platform.db, gateway=gateway, reason=code,
                                            source=request.client.host if request.client else None, raw=raw,
                                            signature=signature, now=now, max_rows=settings.webhook_rejection_rows)
        raise
    return WebhookOut(status=result.status, payment_id=result.payment_id)


def _notification(raw: bytes) -> WebhookIn:
    """A verified webhook's body, refused 422 invalid_webhook when it is not one."""
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
    return body


@router.get("/webhooks/payments/rejections", response_model=WebhookRejectionList)
async def webhook_rejections(caller: Annotated[Principal, Depends(caller_with("operator", "sre"))],
                             platform: PlatformDep, paging: ListPaging, response: Response) -> WebhookRejectionList:
    """Refused webhooks counted per gateway, source address and reason, the most recently seen first; follow
    `next`. A key limited to some client companies sees only their gateway accounts' rows."""
    key = paging.key(2)
    before = None if key is None else (cursor_time(key[0]), cursor_int(key[1]))
    found = await webhooks.rejections(platform.db, before=before, limit=paging.limit + 1,
                                      clients=caller.client_scope)
    page = paging.page(found, lambda r: (r.last_seen.isoformat(), r.id), response)
    return WebhookRejectionList(items=page.items, next=page.next)


REVERSAL_EXAMPLES = {"requestBody": {"content": {"application/json": {"examples": {
    "part": {"summary": "part of the payment, with why",
             "value": {"reason": "Contracargo parcial reportado por el banco", "amount": "50000.00"}},
    "whole": {"summary": "all that remains of it", "value": {"reason": "Consignación duplicada"}}}}}}}


# The routes below name {slug} before their other path parameters, as they always did (the OpenAPI keeps its order).
@router.post("/clients/{slug}/payments/{payment_id}/reversal", response_model=ReversalOut,
             openapi_extra=REVERSAL_EXAMPLES)
async def reverse_payment(slug: str, payment_id: uuid.UUID, client: ClientOfOperator, platform: PlatformDep,
                          idempotency_key: IdempotencyKey, vault: VaultDep,
                          body: ReversalIn | None = None) -> ReversalOut:
    """An operator takes a payment back, whole or in part (a chargeback, a bounced cheque): the account owes it
    again and payment.reversed tells every service; 404 for a payment the client company does not have, 409
    payment_not_applied for one in suspense, 422 for an amount past what remains or with more decimals than its
    currency has (amount_not_in_minor_units). Sent again with the same
    Idempotency-Key and body, it answers what it answered and reverses nothing more; the same key with another
    body is refused (409 `idempotency_key_reused`)."""
    return await reversals.reverse_by_operator(
        platform.db, keys=vault.keyring.all, client=client.slug, payment_id=payment_id, idempotency_key=idempotency_key,
        reason=body.reason if body else None, amount=body.amount if body else None, now=platform.clock())


@router.post("/clients/{slug}/payments/unmatched/{payment_id}/assign", response_model=PaymentOut)
async def assign(slug: str, payment_id: uuid.UUID, body: AssignIn, client: ClientOfOperator,
                 platform: PlatformDep) -> PaymentOut:
    """An operator resolves a payment in the suspense queue: it is applied to the account they name
    (payment.applied). Refused 404 for a payment not found, 409 payment_not_unmatched once it left the queue, 409
    possible_duplicate for a bank line or payment by hand that may be the same deposit as one applied to the
    account (sent again with another_deposit once the operator checked), 422 unknown_account, invalid_currency,
    amount_not_in_cents or amount_not_in_minor_units (a gateway's payment in fractions of a cent, or with more
    decimals than its currency has: no balance takes it)."""
    return await handlers.assign_unmatched(platform.db, client=client.slug, payment_id=payment_id,
                                           account_ref=body.account_ref, another_deposit=body.another_deposit,
                                           now=platform.clock())


@router.post("/clients/{slug}/payments/unmatched/{payment_id}/same-deposit", response_model=SameDepositOut)
async def same_deposit(slug: str, payment_id: uuid.UUID, client: ClientOfOperator,
                       platform: PlatformDep) -> SameDepositOut:
    """An operator closes a payment held as maybe a deposit already applied (a bank line `possible_duplicate`, a
    payment by hand `already_banked`) as the very deposit the payment it names is: it leaves the suspense queue
    and nothing is booked. Refused 404 for a payment not found, 409 not_possible_duplicate for anything but such a
    payment waiting, 409 recorded_payment_not_applied once the one it names was reversed (assign it instead)."""
    return await bank_files.close_as_same_deposit(platform.db, client=client.slug, payment_id=payment_id)


@router.post("/clients/{slug}/payments", response_model=PaymentOut)
async def manual_payment(body: ManualPaymentIn, client: ClientOfOperator, platform: PlatformDep,
                         idempotency_key: IdempotencyKey, vault: VaultDep) -> PaymentOut:
    """An operator enters a payment received outside the gateways (a deposit, a transfer), found by account_ref
    or the debtor's id number: applied to the account (payment.applied) or, when none matches, held in the
    suspense queue (payment.unmatched). Once per Idempotency-Key: 409 idempotency_key_reused with another body;
    422 missing_reference, invalid_currency, amount_not_in_minor_units (more decimals than the currency has: 1000.50
    CLP) or paid_at_in_future (dated after the moment it is recorded, beyond five minutes)."""
    if not body.account_ref and not body.debtor_id:
        raise ProblemError(422, "missing_reference", "Missing reference", "send account_ref or debtor_id")
    return await handlers.record_manual_payment(
        platform.db, vault=vault, client=client.slug, idempotency_key=idempotency_key, payment=body,
        now=platform.clock())


@router.post("/clients/{slug}/accounts/{account_ref}/arrangements", status_code=201, response_model=ArrangementOut)
async def arrangement(slug: str, account_ref: str, body: ArrangementIn, client: ClientOfOperator,
                      platform: PlatformDep, response: Response) -> ArrangementOut:
    """An operator records an arrangement agreed with the debtor: a settlement (one discounted payment) or an
    instalment plan within the client company's limits (arrangement.made); each instalment is a promise tracked
    until kept or broken. Refused 404 for an unknown account, 409 account_not_open or arrangement_exists, 422
    invalid_arrangement."""
    result = await promises.make_arrangement(
        platform.db, client=client.slug, account_ref=account_ref, kind=body.kind,
        instalments=[ScheduledInstalment(i.due_date, i.amount) for i in body.instalments], source="operator",
        now=platform.clock())
    # Listed, with what was paid toward each instalment, among the account's arrangements (by this id).
    response.headers["Location"] = f"/v1/clients/{client.slug}/accounts/{account_ref}/arrangements"
    return ArrangementOut(id=result.id, kind=result.kind, total_amount=result.total_amount, status=result.status,
                          instalments=[InstalmentIn(due_date=i.due_date, amount=i.amount) for i in result.instalments])


@router.get("/clients/{slug}/accounts/{account_ref}/payments", response_model=AccountPaymentList)
async def account_payments(account_ref: str, client: ClientOfCaller, platform: PlatformDep, paging: ListPaging,
                           response: Response) -> AccountPaymentList:
    """The payments applied to the account (none: an empty list), newest first, each with what was reversed of it
    since; follow `next`."""
    key = paging.key(2)
    before = None if key is None else (cursor_time(key[0]), cursor_uuid(key[1]))
    async with platform.db.transaction() as s:
        found = await store.account_payments(s, client.slug, account_ref, limit=paging.limit + 1, before=before)
    page = paging.page([AccountPaymentOut.model_validate(p, from_attributes=True) for p in found],
                       lambda p: (p.received_at.isoformat(), str(p.id)), response)
    return AccountPaymentList(items=page.items, next=page.next)


@router.get("/clients/{slug}/accounts/{account_ref}/arrangements", response_model=ArrangementList)
async def arrangements(account_ref: str, client: ClientOfCaller, platform: PlatformDep,
                       settings: Settings) -> ArrangementList:
    """The account's arrangements (none: an empty list), each instalment with its share of what was paid toward
    the plan, its verdict and its own payment link."""
    return ArrangementList(items=await views.arrangements_of(
        platform.db, client=client, account_ref=account_ref, secret=settings.link_secret,
        public_url=settings.public_url))


def bank_file_out(found: BankFile) -> BankFileOut:
    refusal = found.refusal
    return BankFileOut(id=found.id, filename=found.filename, received_at=found.received_at, counts=found.counts,
                       results=[r.model_dump(mode="json", exclude_none=True) for r in found.results],
                       format=found.format, status="reconciled" if refusal is None else "failed",
                       error_code=refusal and refusal.code, error_detail=refusal and refusal.detail,
                       error_line=refusal and refusal.line, error_field=refusal and refusal.field)


BANK_FILE_BODY = form_request_body({
    "locale": "how its amounts are written (es-CO, ...); told from the file when absent",
    "format": "csv or asobancaria2001; told from the file's first line when absent"}, {
    "asobancaria": {"summary": "a bank's collection file in Asobancaria 2001, its amounts in Colombian pesos",
                    "value": {"file": "recaudo-bancolombia-2026-12-02.txt", "format": "asobancaria2001",
                              "locale": "es-CO"}}})


@router.post("/clients/{slug}/payments/files", status_code=201, response_model=BankFileOut,
             responses={200: {"model": BankFileOut, "description": "this file was already reconciled"}},
             openapi_extra=BANK_FILE_BODY)
async def bank_file(client: ClientOfOperator, platform: PlatformDep, settings: Settings,
                    request: Request) -> JSONResponse:
    """An operator sends a bank's statement or collection file (CSV or Asobancaria, told from its first line
    unless `format` says): each line is applied to its account or held in the suspense queue, once per file
    (the same file again answers 200 with its first result). Refused 413 past RECAUDO_PAYMENTS_MAX_BANK_FILE_BYTES
    (64 MiB), 422 for an unreadable file, a locale or format not supported."""
    upload = await read_small_upload(request, max_bytes=settings.max_bank_file_bytes, what="a bank file")
    locale, file_format = upload.fields.get("locale") or None, upload.fields.get("format") or None
    if locale is not None and locale not in MARKS:
        raise ProblemError(422, "invalid_locale", "Invalid locale", f"supported: {sorted(MARKS)}")
    if file_format is not None and file_format not in bank_files.FORMATS:
        raise ProblemError(422, "invalid_format", "Invalid format",
                           f"supported: {list(bank_files.FORMATS)}; none: told from the file's first line")
    result, created = await bank_files.reconcile_bank_file(platform.db, client=client.slug, content=upload.content,
                                                           filename=upload.filename, locale=locale,
                                                           file_format=file_format, now=platform.clock())
    return JSONResponse(bank_file_out(result).model_dump(mode="json"), status_code=201 if created else 200,
                        headers={"Location": f"/v1/clients/{client.slug}/payments/files/{result.id}"})


@router.get("/clients/{slug}/payments/files/{file_id}", response_model=BankFileOut)
async def get_bank_file(slug: str, file_id: uuid.UUID, client: ClientOfCaller, platform: PlatformDep) -> BankFileOut:
    """A bank file as reconciled: its counts and what became of each line (applied, in suspense, refused);
    404 for a file the client company never sent."""
    return bank_file_out(await bank_files.bank_file_of(platform.db, client=client.slug, file_id=file_id))


@router.get("/clients/{slug}/payments/unmatched", response_model=UnmatchedList)
async def unmatched(client: ClientOfCaller, platform: PlatformDep, paging: ListPaging,
                    response: Response) -> UnmatchedList:
    """The suspense queue: the client company's payments waiting for their account, the first received first;
    follow `next`."""
    key = paging.key(2)
    after = None if key is None else (cursor_time(key[0]), cursor_uuid(key[1]))
    found = await handlers.suspense_queue(platform.db, client=client.slug, after=after, limit=paging.limit + 1)
    page = paging.page(found, lambda p: (p.received_at.isoformat(), str(p.id)), response)
    return UnmatchedList(items=page.items, next=page.next)
