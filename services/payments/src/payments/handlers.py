"""Payments' commands and event handlers: every change to the ledger, and the events it emits."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

from payments import store
from payments.domain.ledger import after_payment
from payments.domain.matching import match_payment
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.client_copy import get_client
from recaudo_common.db import Database
from recaudo_common.errors import ProblemError, conflict, not_found
from recaudo_common.events import AccountPlaced, AccountRecalled, AccountUpdated, PaymentApplied, PaymentUnmatched
from recaudo_common.outbox import Outbox

outbox = Outbox(store.SCHEMA)


async def on_account_placed(event: AccountPlaced, ctx: HandlerContext) -> None:
    await store.open_account(ctx.session, client=ctx.envelope.client, account_ref=event.account_ref,
                             debtor_id=event.debtor_id, currency=event.currency, placed=event.balance,
                             event_id=ctx.envelope.event_id, now=ctx.now)


async def on_account_updated(event: AccountUpdated, ctx: HandlerContext) -> None:
    """The client company restated the balance: the change goes to the ledger as an adjustment."""
    s, client = ctx.session, ctx.envelope.client
    account = await store.lock_account(s, client, event.account_ref)
    if account is None:
        await store.open_account(s, client=client, account_ref=event.account_ref, debtor_id=event.debtor_id,
                                 currency=event.currency, placed=event.balance, event_id=ctx.envelope.event_id,
                                 now=ctx.now)
        return
    change = event.balance - event.previous_balance
    if change:
        await store.add_entry(s, client=client, account_ref=event.account_ref, kind="adjustment", amount=change,
                              event_id=ctx.envelope.event_id, now=ctx.now)
    new_balance = await store.ledger_balance(s, client, event.account_ref)
    status = account["status"] if account["status"] == "settled" else ("paid" if new_balance <= 0 else "open")
    await store.set_account(s, client, event.account_ref, balance=new_balance, status=status, now=ctx.now,
                            debtor_id=event.debtor_id)


async def on_account_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await store.mark_recalled(ctx.session, ctx.envelope.client, event.account_ref, ctx.now)


def fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def record_manual_payment(db: Database, *, client: str, idempotency_key: str, body: dict[str, Any],
                                now: dt.datetime) -> dict[str, Any]:
    """Applies an operator's payment once per Idempotency-Key: the same key and body answer the same;
    the same key with another body is a conflict."""
    request_sha = fingerprint(body)
    async with db.transaction() as s:
        earlier = await store.claim_idempotency_key(s, client, idempotency_key, request_sha, now)
        if earlier is not None:
            if earlier["request_sha256"] != request_sha:
                raise conflict("idempotency_key_reused",
                               "this Idempotency-Key was used with a different request body")
            return dict(earlier["response"])
        copy = await get_client(s, store.SCHEMA, client)
        if copy is None:
            raise not_found(f"client company {client!r}")
        currency = body.get("currency") or copy.currency
        if currency != copy.currency:
            raise ProblemError(422, "invalid_currency", "Invalid currency",
                               f"payments for this client company are in {copy.currency}")
        response = await apply_payment(
            s, client=client, account_ref=body.get("account_ref"), debtor_id=body.get("debtor_id"),
            amount=Decimal(body["amount"]), currency=currency, paid_at=dt.datetime.fromisoformat(body["paid_at"]),
            source="manual", method=body.get("method"), reference=body.get("reference"), now=now)
        await store.store_idempotent_response(s, client, idempotency_key, response)
    return response


async def apply_payment(s: Any, *, client: str, account_ref: str | None, debtor_id: str | None, amount: Decimal,
                        currency: str, paid_at: dt.datetime, source: str, method: str | None,
                        reference: str | None, now: dt.datetime) -> dict[str, Any]:
    """Matches and applies one payment inside the caller's transaction; unmatched goes to suspense."""
    payment_id = uuid.uuid4()
    known = await store.lock_account(s, client, account_ref) if account_ref else None
    candidates = await store.open_accounts_of_debtor(s, client, debtor_id) if debtor_id and known is None else []
    match = match_payment(account_ref=account_ref, known_account=known is not None, debtor_id=debtor_id,
                          debtor_open_accounts=candidates)
    if match.account_ref is None:
        await store.insert_payment(s, payment_id=payment_id, client=client, account_ref=None, amount=amount,
                                   currency=currency, paid_at=paid_at, source=source, method=method,
                                   reference=reference or account_ref, debtor_id=debtor_id, status="unmatched",
                                   unmatched_reason=match.reason, now=now)
        await outbox.add(s, [PaymentUnmatched(payment_id=payment_id, amount=amount, currency=currency,
                                              paid_at=paid_at, source=source, reason=match.reason,  # type: ignore[arg-type]
                                              ).envelope(client=client, occurred_at=now)])
        return {"id": str(payment_id), "status": "unmatched", "reason": match.reason, "amount": str(amount),
                "currency": currency}
    account = known or await store.lock_account(s, client, match.account_ref)
    assert account is not None
    result = after_payment(account["balance"], amount, account["status"])
    await store.insert_payment(s, payment_id=payment_id, client=client, account_ref=match.account_ref,
                               amount=amount, currency=currency, paid_at=paid_at, source=source, method=method,
                               reference=reference, debtor_id=debtor_id, status="applied", unmatched_reason=None,
                               now=now)
    await store.add_entry(s, client=client, account_ref=match.account_ref, kind="payment", amount=-amount,
                          payment_id=payment_id, now=now)
    await store.set_account(s, client, match.account_ref, balance=result.balance, status=result.status, now=now)
    await outbox.add(s, [PaymentApplied(
        payment_id=payment_id, account_ref=match.account_ref, amount=amount, currency=currency, paid_at=paid_at,
        source=source, method=method, new_balance=result.balance, credit=result.credit,  # type: ignore[arg-type]
        account_status=result.status).envelope(client=client, occurred_at=now)])
    return {"id": str(payment_id), "status": "applied", "account_ref": match.account_ref, "matched_by": match.reason,
            "amount": str(amount), "currency": currency, "new_balance": str(result.balance),
            "credit": str(result.credit), "account_status": result.status}
