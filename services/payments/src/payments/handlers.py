"""Payments' commands and event handlers: every change to the ledger, and the events it emits."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

from payments import store
from payments.domain.arrangements import MISSED_INSTALMENTS_TO_BREAK, arrangement_errors
from payments.domain.bank_files import bank_columns, check_bank_row
from payments.domain.ledger import AfterPayment, after_payment
from payments.domain.matching import match_payment
from payments.domain.promises import deadline, verdict
from payments.integrity import recorded_once
from recaudo_common.accounts import account_status, is_open, ledger_status
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.client_copy import get_client
from recaudo_common.clock import local_instant, local_today
from recaudo_common.db import Database
from recaudo_common.errors import ProblemError, conflict, not_found
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSettled,
    AccountUpdated,
    ArrangementBroken,
    ArrangementDeclined,
    ArrangementKept,
    ArrangementMade,
    ArrangementRequested,
    Instalment,
    PaymentApplied,
    PaymentUnmatched,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)
from recaudo_common.files import csv_rows, sniff
from recaudo_common.outbox import Cause, Outbox, caused_by
from recaudo_common.payment_links import read_token

outbox = Outbox(store.SCHEMA)


async def on_account_placed(event: AccountPlaced, ctx: HandlerContext) -> None:
    await on_accounts_placed([(event, ctx)])


async def on_accounts_placed(events: list[tuple[AccountPlaced, HandlerContext]]) -> None:
    """A placement opens the account here, its placed balance the ledger's first entry; payments that named it
    while its placement was on the way leave suspense for it."""
    s, now = events[0][1].session, events[0][1].now
    await open_accounts(s, [
        {"client": ctx.envelope.client, "account_ref": e.account_ref, "debtor_id": e.debtor_id,
         "currency": e.currency, "placed": e.balance, "event_id": ctx.envelope.event_id} for e, ctx in events], now,
        causes={(ctx.envelope.client, e.account_ref): ctx.cause for e, ctx in events})


async def open_accounts(s: Any, rows: list[dict[str, Any]], now: dt.datetime, *,
                        causes: Mapping[tuple[str, str], Cause] | None = None) -> None:
    accounts = [(r["client"], r["account_ref"]) for r in rows]
    await store.share_placement_locks(s, accounts)
    await store.open_accounts(s, rows, now)
    await rematch_suspense(s, accounts, now=now, causes=causes)


async def rematch_suspense(s: Any, accounts: list[tuple[str, str]], *, now: dt.datetime,
                           causes: Mapping[tuple[str, str], Cause] | None = None) -> None:
    """Suspense payments that named one of these accounts are applied to it, oldest first, and the Idempotency-Key
    that created each then answers with what it became. Only the named account re-matches: a payment known only
    by the debtor's ID waits for an operator, because which of the debtor's accounts it is for cannot be known
    while a file may still be placing more of them. What a payment's booking emits is caused by its account's
    placement (`causes`, from a batch of placements; else the cause it runs under)."""
    for payment in await store.lock_suspense_claiming(s, accounts):
        account = await store.lock_account(s, payment["client_slug"], payment["claimed_account_ref"])
        if account is None:
            continue
        await store.set_payment_status(s, payment["id"], "applied", account["account_ref"])
        cause = (causes or {}).get((payment["client_slug"], payment["claimed_account_ref"]))
        with caused_by(cause) if cause is not None else nullcontext():
            result = await _book(s, client=payment["client_slug"], payment_id=payment["id"], account=account,
                                 amount=Decimal(payment["amount"]), currency=payment["currency"],
                                 paid_at=payment["paid_at"], source=payment["source"], method=payment["method"],
                                 matched_by="account_ref", now=now)
        await store.follow_idempotent_response(s, payment["id"], result)


async def on_account_updated(event: AccountUpdated, ctx: HandlerContext) -> None:
    """The client company restated the balance: the change goes to the ledger as an adjustment."""
    s, client = ctx.session, ctx.envelope.client
    account = await store.lock_account(s, client, event.account_ref)
    if account is None:
        await open_accounts(s, [{"client": client, "account_ref": event.account_ref, "debtor_id": event.debtor_id,
                                 "currency": event.currency, "placed": event.balance,
                                 "event_id": ctx.envelope.event_id}], ctx.now)
        return
    change = event.balance - event.previous_balance
    if change:
        await store.add_entry(s, client=client, account_ref=event.account_ref, kind="adjustment", amount=change,
                              event_id=ctx.envelope.event_id, now=ctx.now)
    new_balance = await store.ledger_balance(s, client, event.account_ref)
    status = ledger_status(balance=new_balance, settled=account["status"] == "settled")
    await store.set_account(s, client, event.account_ref, balance=new_balance, status=status, now=ctx.now,
                            debtor_id=event.debtor_id)


async def on_account_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await store.mark_recalled(ctx.session, ctx.envelope.client, event.account_ref, ctx.now)


def fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def answered_before(s: Any, *, client: str, idempotency_key: str, request_sha: str,
                          now: dt.datetime) -> dict[str, Any] | None:
    """None when this request now holds the Idempotency-Key (until its transaction ends: a concurrent one with the
    same key waits for it); else the answer the earlier request with the same key and body was given. The same
    key with another body (or for another command: keys are one namespace per client company) is a conflict."""
    earlier = await store.claim_idempotency_key(s, client, idempotency_key, request_sha, now)
    if earlier is None:
        return None
    if earlier["request_sha256"] != request_sha:
        raise conflict("idempotency_key_reused", "this Idempotency-Key was used with a different request body")
    return dict(earlier["response"])


async def record_manual_payment(db: Database, *, client: str, idempotency_key: str, body: dict[str, Any],
                                now: dt.datetime) -> dict[str, Any]:
    """Applies an operator's payment once per Idempotency-Key: the same key and body answer the same;
    the same key with another body is a conflict."""
    request_sha = fingerprint(body)

    async def attempt() -> dict[str, Any]:
        async with db.transaction() as s:
            earlier = await answered_before(s, client=client, idempotency_key=idempotency_key,
                                            request_sha=request_sha, now=now)
            if earlier is not None:
                return earlier  # what the payment is now (it may have left suspense since)
            copy = await get_client(s, store.SCHEMA, client)
            if copy is None:
                raise not_found(f"client company {client!r}")
            currency = body.get("currency") or copy.currency
            if currency != copy.currency:
                raise ProblemError(422, "invalid_currency", "Invalid currency",
                                   f"payments for this client company are in {copy.currency}")
            response = await apply_payment(
                s, client=client, account_ref=body.get("account_ref"), debtor_id=body.get("debtor_id"),
                amount=Decimal(body["amount"]), currency=currency,
                paid_at=dt.datetime.fromisoformat(body["paid_at"]), source="manual", method=body.get("method"),
                reference=body.get("reference"), now=now)
            await store.store_idempotent_response(s, client, idempotency_key, response)
        return response

    return await recorded_once(attempt)


async def apply_payment(s: Any, *, client: str, account_ref: str | None, debtor_id: str | None, amount: Decimal,
                        currency: str, paid_at: dt.datetime, source: str, method: str | None,
                        reference: str | None, now: dt.datetime, gateway: str | None = None,
                        external_id: str | None = None, link_secret: str | None = None,
                        content_sha256: str | None = None) -> dict[str, Any]:
    """Matches and applies one payment inside the caller's transaction; unmatched goes to suspense."""
    payment_id = uuid.uuid4()
    if not account_ref and link_secret and reference:
        # A payment made through a payment link names the account in its signed token.
        target = read_token(reference, secret=link_secret, now=now, allow_expired=True)
        if target is not None and target.client == client:
            account_ref = target.account_ref
    known = await store.lock_account(s, client, account_ref) if account_ref else None
    if account_ref and known is None:
        # Its placement may be on its way: wait for one in flight, so that this payment either sees the account
        # or is in suspense before the placement looks there (rematch_suspense).
        await store.lock_placement(s, client, account_ref)
        known = await store.lock_account(s, client, account_ref)
    candidates = await store.open_accounts_of_debtor(s, client, debtor_id) if debtor_id and known is None else []
    match = match_payment(account_ref=account_ref, known_account=known is not None, debtor_id=debtor_id,
                          debtor_open_accounts=candidates)
    if match.account_ref is None:
        await store.insert_payment(s, payment_id=payment_id, client=client, account_ref=None, amount=amount,
                                   currency=currency, paid_at=paid_at, source=source, method=method,
                                   reference=reference or account_ref, debtor_id=debtor_id, status="unmatched",
                                   unmatched_reason=match.reason, now=now, gateway=gateway, external_id=external_id,
                                   claimed_account_ref=account_ref, content_sha256=content_sha256)
        await outbox.add(s, [PaymentUnmatched(payment_id=payment_id, amount=amount, currency=currency,
                                              paid_at=paid_at, source=source, reason=match.reason,  # type: ignore[arg-type]
                                              ).envelope(client=client, occurred_at=now)])
        return {"id": str(payment_id), "status": "unmatched", "reason": match.reason, "amount": str(amount),
                "currency": currency}
    account = known or await store.lock_account(s, client, match.account_ref)
    assert account is not None
    await store.insert_payment(s, payment_id=payment_id, client=client, account_ref=match.account_ref,
                               amount=amount, currency=currency, paid_at=paid_at, source=source, method=method,
                               reference=reference, debtor_id=debtor_id, status="applied", unmatched_reason=None,
                               now=now, gateway=gateway, external_id=external_id, claimed_account_ref=account_ref,
                               content_sha256=content_sha256)
    return await _book(s, client=client, payment_id=payment_id, account=account, amount=amount, currency=currency,
                       paid_at=paid_at, source=source, method=method, matched_by=match.reason, now=now)


async def _book(s: Any, *, client: str, payment_id: uuid.UUID, account: dict[str, Any], amount: Decimal,
                currency: str, paid_at: dt.datetime, source: str, method: str | None, matched_by: str,
                now: dt.datetime) -> dict[str, Any]:
    """The ledger entry, the account's new balance and status, and payment.applied, for a matched payment."""
    account_ref = account["account_ref"]
    result = after_payment(account["balance"], amount, account["status"])
    await store.add_entry(s, client=client, account_ref=account_ref, kind="payment", amount=-amount,
                          payment_id=payment_id, now=now)
    result = await _settle_if_reached(s, client=client, account_ref=account_ref, after=result, now=now)
    await store.set_account(s, client, account_ref, balance=result.balance, status=result.status, now=now)
    await evaluate_promises(s, now=now, client=client, account_ref=account_ref)  # a payment may keep a promise
    await outbox.add(s, [PaymentApplied(
        payment_id=payment_id, account_ref=account_ref, amount=amount, currency=currency, paid_at=paid_at,
        source=source, method=method, new_balance=result.balance, credit=result.credit,  # type: ignore[arg-type]
        account_status=result.status).envelope(client=client, occurred_at=now)])
    return {"id": str(payment_id), "status": "applied", "account_ref": account_ref, "matched_by": matched_by,
            "amount": str(amount), "currency": currency, "new_balance": str(result.balance),
            "credit": str(result.credit), "account_status": result.status}


async def assign_unmatched(db: Database, *, client: str, payment_id: uuid.UUID, account_ref: str,
                           now: dt.datetime) -> dict[str, Any]:
    """An operator resolves a suspense payment: it is applied to the account they name."""
    async with db.transaction() as s:
        payment = await store.lock_payment(s, client, payment_id)
        if payment is None:
            raise not_found("payment")
        if payment["status"] != "unmatched":
            raise conflict("payment_not_unmatched", "this payment is not in the suspense queue")
        account = await store.lock_account(s, client, account_ref)
        if account is None:
            raise ProblemError(422, "unknown_account", "Unknown account", f"no account {account_ref!r}")
        await store.set_payment_status(s, payment_id, "applied", account_ref)
        result = await _book(s, client=client, payment_id=payment_id, account=account,
                             amount=Decimal(payment["amount"]), currency=payment["currency"],
                             paid_at=payment["paid_at"], source=payment["source"], method=payment["method"],
                             matched_by="operator", now=now)
        await store.follow_idempotent_response(s, payment_id, result)
        return result


async def on_promise_made(event: PromiseMade, ctx: HandlerContext) -> None:
    await store.insert_promise(ctx.session, promise_id=event.promise_id, client=ctx.envelope.client,
                               account_ref=event.account_ref, amount=event.amount, due_date=event.due_date,
                               made_at=event.made_at, source=event.source)
    await evaluate_promises(ctx.session, now=ctx.now, client=ctx.envelope.client, account_ref=event.account_ref)


async def evaluate_promises(s: Any, *, now: dt.datetime, client: str | None = None,
                            account_ref: str | None = None) -> dict[str, int]:
    """Decides every pending promise whose verdict is known at `now` (kept or broken) and emits it."""
    decided = {"kept": 0, "broken": 0}
    for p in await store.pending_promises(s, client=client, account_ref=account_ref):
        ends = deadline(p["due_date"], p["timezone"])
        paid = await store.paid_between(s, p["client_slug"], p["account_ref"], p["made_at"], ends)
        result = verdict(amount=p["amount"], paid=paid, due_date=p["due_date"], timezone=p["timezone"], now=now)
        if result == "pending":
            continue
        await store.decide_promise(s, p["promise_id"], result, now)
        event: PromiseKept | PromiseBroken = PromiseKept(promise_id=p["promise_id"], account_ref=p["account_ref"],
                                                         kept_at=now) if result == "kept" else PromiseBroken(
            promise_id=p["promise_id"], account_ref=p["account_ref"], broken_at=now, paid_amount=paid)
        await outbox.add(s, [event.envelope(client=p["client_slug"], occurred_at=now)])
        decided[result] += 1
        if p["arrangement_id"] is not None:
            await _judge_plan(s, client=p["client_slug"], account_ref=p["account_ref"],
                              arrangement_id=p["arrangement_id"], now=now)
    return decided


async def _judge_plan(s: Any, *, client: str, account_ref: str, arrangement_id: uuid.UUID, now: dt.datetime) -> None:
    """An instalment plan is kept when every instalment is, broken at the second missed one."""
    broken, kept, total = await store.count_missed(s, arrangement_id)
    if broken >= MISSED_INSTALMENTS_TO_BREAK:
        if not await store.decide_arrangement(s, arrangement_id, "broken", now):
            return
        await store.cancel_pending_promises(s, arrangement_id, now)
        await outbox.add(s, [ArrangementBroken(arrangement_id=arrangement_id, account_ref=account_ref, broken_at=now,
                                               missed_instalments=broken).envelope(client=client, occurred_at=now)])
    elif kept + broken == total and kept > 0 and await store.decide_arrangement(s, arrangement_id, "kept", now):
        await outbox.add(s, [ArrangementKept(arrangement_id=arrangement_id, account_ref=account_ref,
                                             kept_at=now).envelope(client=client, occurred_at=now)])


async def _settle_if_reached(s: Any, *, client: str, account_ref: str, after: AfterPayment,
                             now: dt.datetime) -> AfterPayment:
    """A payment that reaches an active settlement's amount closes the account as settled; the discount
    forgiven is booked as an adjustment, so the ledger still adds up."""
    arrangement = await store.active_arrangement(s, client, account_ref)
    if arrangement is None or arrangement["kind"] != "settlement":
        return after
    paid = await store.paid_between(s, client, account_ref, arrangement["made_at"], now + dt.timedelta(days=36500))
    if paid < arrangement["total_amount"]:
        return after
    if after.balance > 0:
        await store.add_entry(s, client=client, account_ref=account_ref, kind="adjustment", amount=-after.balance,
                              now=now)
    await store.decide_arrangement(s, arrangement["id"], "kept", now)
    await outbox.add(s, [
        ArrangementKept(arrangement_id=arrangement["id"], account_ref=account_ref, kept_at=now).envelope(
            client=client, occurred_at=now),
        AccountSettled(account_ref=account_ref, arrangement_id=arrangement["id"], settled_at=now).envelope(
            client=client, occurred_at=now)])
    return AfterPayment(min(after.balance, Decimal(0)), after.credit, "settled")


async def make_arrangement(db: Database, *, client: str, account_ref: str, kind: str,
                           instalments: list[tuple[dt.date, Decimal]], source: str, now: dt.datetime) -> dict[str, Any]:
    """An operator agrees a settlement or an instalment plan; each instalment is a promise."""
    async with db.transaction() as s:
        return await _make_arrangement(s, client=client, account_ref=account_ref, kind=kind,
                                       instalments=instalments, source=source, now=now)


async def on_arrangement_requested(event: ArrangementRequested, ctx: HandlerContext) -> None:
    """A debtor accepted an offer on the debtor page: the same rules as an operator's arrangement; a refusal is
    answered with arrangement.declined so the debtor's request is never silently lost."""
    try:
        async with ctx.session.begin_nested():
            await _make_arrangement(ctx.session, client=ctx.envelope.client, account_ref=event.account_ref,
                                    kind=event.kind, instalments=[(i.due_date, i.amount) for i in event.instalments],
                                    source="debtor_page", now=ctx.now, request_id=event.request_id)
    except ProblemError as e:
        await outbox.add(ctx.session, [ArrangementDeclined(
            request_id=event.request_id, account_ref=event.account_ref, reason=e.problem.detail or e.problem.code,
            declined_at=ctx.now).envelope(client=ctx.envelope.client, occurred_at=ctx.now)])


async def _make_arrangement(s: Any, *, client: str, account_ref: str, kind: str,
                            instalments: list[tuple[dt.date, Decimal]], source: str, now: dt.datetime,
                            request_id: uuid.UUID | None = None) -> dict[str, Any]:
    copy = await get_client(s, store.SCHEMA, client)
    account = await store.lock_account(s, client, account_ref)
    if copy is None or account is None:
        raise not_found(f"account {account_ref!r}")
    status = account_status(account["status"], recalled=account["recalled"])
    if not is_open(status):
        raise conflict("account_not_open", f"the account is {status}")
    if await store.active_arrangement(s, client, account_ref) is not None:
        raise conflict("arrangement_exists", "the account already has an active arrangement")
    today = local_today(copy.timezone, now)
    errors = arrangement_errors(kind=kind, balance=Decimal(account["balance"]), instalments=instalments,
                                max_discount_pct=copy.max_discount_pct, today=today)
    if errors:
        raise ProblemError(422, "invalid_arrangement", "Invalid arrangement", "; ".join(errors),
                           errors=[{"msg": e} for e in errors])
    arrangement_id = uuid.uuid4()
    total = sum((a for _, a in instalments), Decimal(0))
    schedule = [{"due_date": d.isoformat(), "amount": str(a)} for d, a in instalments]
    await store.insert_arrangement(s, arrangement_id=arrangement_id, client=client, account_ref=account_ref,
                                   kind=kind, total=total, made_at=now, source=source, instalments=schedule)
    for due, amount in instalments:
        await store.insert_promise(s, promise_id=uuid.uuid4(), client=client, account_ref=account_ref,
                                   amount=amount, due_date=due, made_at=now, source="arrangement",
                                   arrangement_id=arrangement_id)
    await outbox.add(s, [ArrangementMade(
        arrangement_id=arrangement_id, account_ref=account_ref, kind=kind,  # type: ignore[arg-type]
        total_amount=total, instalments=[Instalment(due_date=d, amount=a) for d, a in instalments], made_at=now,
        source=source, request_id=request_id).envelope(client=client, occurred_at=now)])  # type: ignore[arg-type]
    return {"id": str(arrangement_id), "kind": kind, "total_amount": str(total), "status": "active",
            "instalments": schedule}


async def evaluate_due_promises(db: Database, *, now: dt.datetime) -> dict[str, int]:
    """The scheduled evaluation: promises whose grace day has passed are broken unless paid. One run is one
    command: the verdicts it emits share its correlation."""
    async with db.transaction() as s:
        with caused_by(Cause.command()):
            return await evaluate_promises(s, now=now)


async def reconcile_bank_file(db: Database, *, client: str, content: bytes, filename: str | None,
                              locale: str | None, now: dt.datetime) -> tuple[dict[str, Any], bool]:
    """Applies a bank statement's payments, each at most once; returns the stored per-row results and whether
    this call created them (the same file again returns the first results and applies nothing)."""
    content_sha = hashlib.sha256(content).hexdigest()
    return await recorded_once(lambda: _reconcile_bank_file(db, client=client, content=content, content_sha=content_sha,
                                                            filename=filename, locale=locale, now=now))


async def _reconcile_bank_file(db: Database, *, client: str, content: bytes, content_sha: str, filename: str | None,
                               locale: str | None, now: dt.datetime) -> tuple[dict[str, Any], bool]:
    async with db.transaction() as s:
        existing = await store.bank_file(s, client, content_sha=content_sha)
        if existing is not None:
            return existing, False
        copy = await get_client(s, store.SCHEMA, client)
        if copy is None:
            raise not_found(f"client company {client!r}")
        sniffed = sniff(content[:65536], filename=filename, encoding=None, delimiter=None)
        if sniffed.kind != "csv":
            raise ProblemError(422, "unsupported_format", "Unsupported bank file", "send the statement as CSV")
        header, rows = csv_rows(iter([content]), sniffed)
        columns, missing = bank_columns(header)
        if missing:
            raise ProblemError(422, "missing_required_columns", "Unreadable bank file",
                               f"no column for {', '.join(missing)}; headers seen: {header}")
        gateway = f"bank_file:{client}"
        results: list[dict[str, Any]] = []
        for number, cells in rows:
            text_cells = [c if isinstance(c, str) else str(c) for c in cells]
            row, problem = check_bank_row(text_cells, columns, number, locale or copy.locale)
            if row is None:
                results.append({"row": number, "status": "rejected", "reason": problem})
                continue
            external_id = row.transaction_id or f"{content_sha[:16]}:{number}"
            if await store.gateway_payment(s, gateway, external_id) is not None:
                results.append({"row": number, "status": "duplicate", "transaction_id": external_id})
                continue
            paid_at = local_instant(row.paid_on, copy.timezone, dt.time(12))
            applied = await apply_payment(s, client=client, account_ref=row.reference, debtor_id=None,
                                          amount=row.amount, currency=copy.currency, paid_at=paid_at,
                                          source="bank_file", method="bank_transfer", reference=row.reference, now=now,
                                          gateway=gateway, external_id=external_id)
            results.append({"row": number, "status": applied["status"], "payment_id": applied["id"],
                            "reference": row.reference, "amount": str(row.amount),
                            **({"reason": applied["reason"]} if "reason" in applied else {})})
        counts = {status: sum(1 for r in results if r["status"] == status)
                  for status in ("applied", "unmatched", "duplicate", "rejected")}
        file_id = uuid.uuid4()
        await store.insert_bank_file(s, file_id=file_id, client=client, content_sha=content_sha, filename=filename,
                                     now=now, counts=counts, results=results)
        saved = await store.bank_file(s, client, file_id=file_id)
    assert saved is not None
    return saved, True
