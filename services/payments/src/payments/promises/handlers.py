"""Promises and arrangements: a promise made is judged kept or broken, an arrangement agreed (by an operator, or
by a debtor on the debtor page) becomes one promise per instalment, and a settlement reached closes the account."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store as ledger
from payments.domain.arrangements import (
    MISSED_INSTALMENTS_TO_BREAK,
    allocate,
    arrangement_errors,
    instalments_short,
    settlement_discount,
)
from payments.domain.ledger import AfterPayment
from payments.domain.promises import verdict
from payments.promises import store
from payments.promises.store import ScheduledInstalment
from payments.records import Account
from recaudo_common.accounts import account_status, is_open
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.client_copy import get_client
from recaudo_common.clock import local_today
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, DomainError, Invalid, NotFound
from recaudo_common.events import (
    AccountSettled,
    ArrangementBroken,
    ArrangementDeclined,
    ArrangementKept,
    ArrangementMade,
    ArrangementRequested,
    Instalment,
    PromiseBroken,
    PromiseCancelled,
    PromiseKept,
    PromiseMade,
    PromiseReopened,
)
from recaudo_common.outbox import Cause, Outbox, caused_by
from recaudo_common.promises import deadline

outbox = Outbox(ledger.SCHEMA)


@dataclass(frozen=True)
class ArrangementOutcome:
    """An arrangement just made: active, its instalments each a pending promise."""

    id: uuid.UUID
    kind: str
    total_amount: Decimal
    status: str
    instalments: list[ScheduledInstalment]


async def on_promise_made(event: PromiseMade, ctx: HandlerContext) -> None:
    await store.insert_promise(ctx.session, promise_id=event.promise_id, client=ctx.envelope.client,
                               account_ref=event.account_ref, amount=event.amount, due_date=event.due_date,
                               made_at=event.made_at, source=event.source)
    await evaluate_promises(ctx.session, now=ctx.now, client=ctx.envelope.client, account_ref=event.account_ref)


async def evaluate_promises(s: AsyncSession, *, now: dt.datetime, client: str | None = None,
                            account_ref: str | None = None) -> dict[str, int]:
    """Decides every pending promise whose verdict is known at `now` (kept or broken) and emits it."""
    decided = {"kept": 0, "broken": 0}
    for p in await store.pending_promises(s, client=client, account_ref=account_ref):
        ends = deadline(p.due_date, p.timezone)
        paid = await store.paid_between(s, p.client_slug, p.account_ref, p.made_at, ends)
        result = verdict(amount=p.amount, paid=paid, due_date=p.due_date, timezone=p.timezone, now=now)
        if result == "pending":
            continue
        await store.decide_promise(s, p.promise_id, result, now)
        event: PromiseKept | PromiseBroken = PromiseKept(promise_id=p.promise_id, account_ref=p.account_ref,
                                                         kept_at=now) if result == "kept" else PromiseBroken(
            promise_id=p.promise_id, account_ref=p.account_ref, broken_at=now, paid_amount=paid)
        await outbox.add(s, [event.envelope(client=p.client_slug, occurred_at=now)])
        decided[result] += 1
        if p.arrangement_id is not None:
            await _judge_plan(s, client=p.client_slug, account_ref=p.account_ref, arrangement_id=p.arrangement_id,
                              now=now)
    return decided


async def judge_kept_promises_again(s: AsyncSession, *, client: str, account_ref: str, payment_id: uuid.UUID,
                                    kind: str, now: dt.datetime) -> None:
    """After money of the account was taken back (`kind`: a reversal, a refund, a chargeback of `payment_id`), each
    promise it had kept (an arrangement's instalments are judge_again's) is what it would be without that money:
    kept still if what remains paid toward it reaches it, else pending again while its grace day has not passed
    (promise.reopened, so readers undo its promise.kept; the evaluator, or the next payment, decides it then:
    promise.kept or promise.broken, as for any pending promise) or broken now (promise.broken, with what is still
    paid toward it). Inside the reversal's transaction, after the payment's reversed amount was recorded."""
    for p in await store.kept_promises(s, client, account_ref):
        paid = await store.paid_between(s, client, account_ref, p.made_at, deadline(p.due_date, p.timezone))
        result = verdict(amount=p.amount, paid=paid, due_date=p.due_date, timezone=p.timezone, now=now)
        if result == "kept":
            continue
        if result == "pending":
            await store.reopen_promise(s, p.promise_id)
            await outbox.add(s, [PromiseReopened(
                promise_id=p.promise_id, account_ref=account_ref, reopened_at=now, paid_amount=paid,
                payment_id=payment_id, reason="chargeback" if kind == "chargeback" else
                "refund" if kind == "refund" else "reversal").envelope(client=client, occurred_at=now)])
            continue
        await store.decide_promise(s, p.promise_id, "broken", now)
        await outbox.add(s, [PromiseBroken(promise_id=p.promise_id, account_ref=account_ref, broken_at=now,
                                           paid_amount=paid).envelope(client=client, occurred_at=now)])


async def evaluate_due_promises(db: Database, *, now: dt.datetime) -> dict[str, int]:
    """The scheduled evaluation: promises whose grace day has passed are broken unless paid. One run is one
    command: the verdicts it emits share its correlation."""
    async with db.transaction() as s:
        with caused_by(Cause.command()):
            return await evaluate_promises(s, now=now)


async def _judge_plan(s: AsyncSession, *, client: str, account_ref: str, arrangement_id: uuid.UUID,
                      now: dt.datetime) -> None:
    """An arrangement is kept once its last instalment is (every instalment is judged on what the plan asked up to
    it, so that is the whole plan paid), and broken at the second missed instalment or when its last is missed
    (a settlement's only one): no instalment after it could make the plan whole."""
    verdicts = await store.instalment_verdicts(s, arrangement_id)
    if verdicts.last == "kept":
        if await store.decide_arrangement(s, arrangement_id, "kept", now):
            await outbox.add(s, [ArrangementKept(arrangement_id=arrangement_id, account_ref=account_ref,
                                                 kept_at=now).envelope(client=client, occurred_at=now)])
    elif verdicts.broken >= MISSED_INSTALMENTS_TO_BREAK or verdicts.last == "broken":
        if not await store.decide_arrangement(s, arrangement_id, "broken", now):
            return
        await store.cancel_pending_promises(s, arrangement_id, now)
        await outbox.add(s, [ArrangementBroken(
            arrangement_id=arrangement_id, account_ref=account_ref, broken_at=now,
            missed_instalments=verdicts.broken).envelope(client=client, occurred_at=now)])


async def settle_if_reached(s: AsyncSession, *, client: str, account: Account, after: AfterPayment,
                            paid_at: dt.datetime, now: dt.datetime) -> AfterPayment:
    """Payments made by an active settlement's deadline (its due date plus the grace day) that reach its amount
    close the account as settled; the discount forgiven is booked as an adjustment, so the ledger still adds up.
    A payment after the deadline is no settlement's: the evaluator breaks the settlement, and the balance stands.

    A broken settlement (the account's latest arrangement) is kept after all by a payment made by its deadline
    (`paid_at`) that, known only now, reaches it: a bank's line or a deposit recorded by hand days after the
    deadline broke it for want of news, a dispute won that gives back the money a chargeback took (as a payment
    made when the disputed one was). It forgives what it forgave before a reversal undid it, or what would have
    been owed at the deadline had that payment been known then, so that what was paid after the deadline is a
    credit. Only the discount is forgiven: what was paid toward it beyond its amount is a credit too, as any
    overpayment's excess is (domain/arrangements.settlement_discount). A recalled account, or one with money
    written off, is the operator's to settle: the payment is applied like any other. (`account`: as locked before
    this payment.)"""
    account_ref = account.account_ref
    broken = None
    arrangement = await store.active_arrangement(s, client, account_ref)
    if arrangement is None:
        arrangement = broken = await store.broken_settlement(s, client, account_ref)
    if arrangement is None or arrangement.kind != "settlement":
        return after
    ends = deadline(arrangement.last_due, arrangement.timezone)
    if broken is not None and (paid_at >= ends or account.recalled or account.written_off > 0):
        return after
    paid = await store.paid_between(s, client, account_ref, arrangement.made_at, ends)
    if paid < arrangement.total_amount:
        return after
    if broken is not None and broken.forgiven is not None:
        forgiven = broken.forgiven  # undone by a reversal: whatever was paid in between, as if never undone
    else:
        owed = after.balance if broken is None else await store.owed_at_deadline(
            s, client, account_ref, arrangement.made_at, ends)
        forgiven = settlement_discount(owed=owed, total=arrangement.total_amount, paid=await store.paid_since_made(
            s, client, account_ref, arrangement.made_at, ends))
        for promise_id in await store.keep_broken_promises(s, arrangement.id, now):
            await outbox.add(s, [PromiseKept(promise_id=promise_id, account_ref=account_ref, kept_at=now).envelope(
                client=client, occurred_at=now)])
    if forgiven > 0:
        await ledger.add_entry(s, client=client, account_ref=account_ref, kind="adjustment", amount=-forgiven,
                               now=now)
    await store.decide_arrangement(s, arrangement.id, "kept", now, broken=broken is not None)
    await store.record_forgiven(s, arrangement.id, forgiven)
    await outbox.add(s, [
        ArrangementKept(arrangement_id=arrangement.id, account_ref=account_ref, kept_at=now).envelope(
            client=client, occurred_at=now),
        AccountSettled(account_ref=account_ref, arrangement_id=arrangement.id, settled_at=now).envelope(
            client=client, occurred_at=now)])
    balance = after.balance - forgiven
    return AfterPayment(balance, max(-balance, Decimal(0)), "settled")


async def judge_again(s: AsyncSession, *, client: str, account_ref: str, payment_id: uuid.UUID,
                      taken_back: Decimal, balance: Decimal, settled: bool, now: dt.datetime) -> Decimal:
    """After `taken_back` of a payment was taken back (a refund, a chargeback, an operator's reversal), the account's
    last kept arrangement is judged again. When what was paid toward it by its deadline no longer reaches its amount
    it was not kept after all: it is broken, and a settlement's forgiven discount is owed again. When a settlement
    that closed the account (`settled`) is still reached and the payment was one toward it (what was given back was
    paid beyond it), the account still owes nothing: what was given back and would be owed is forgiven too (what it
    takes from a credit on the account, `balance` below 0 before the reversal, is no one's to forgive; a payment
    from before the settlement given back is owed again: the settlement's terms counted it paid). Either is booked
    as an adjustment, so the ledger still adds up; returns it (0: nothing changed). Called inside the reversal's
    transaction, after the payment's reversed amount was recorded."""
    kept = await store.last_kept_arrangement(s, client, account_ref)
    if kept is None:
        return Decimal(0)
    ends = deadline(kept.last_due, kept.timezone)
    paid = await store.paid_between(s, client, account_ref, kept.made_at, ends)
    if paid >= kept.total_amount:
        if not settled or kept.kind != "settlement" \
                or not await store.counted_toward(s, client, account_ref, payment_id, kept.made_at, ends):
            return Decimal(0)
        forgive = min(taken_back, max(Decimal(0), balance + taken_back))
        await store.record_forgiven(s, kept.id, kept.forgiven + forgive)
        change = -forgive
    elif await store.undo_kept(s, kept.id, now):
        if kept.kind == "instalment_plan":
            await _undo_kept_instalments(s, client=client, account_ref=account_ref, kept=kept, paid=paid, now=now)
        await outbox.add(s, [ArrangementBroken(
            arrangement_id=kept.id, account_ref=account_ref, broken_at=now,
            missed_instalments=instalments_short(paid, kept.amounts)).envelope(client=client, occurred_at=now)])
        change = kept.forgiven
    else:
        return Decimal(0)
    if change:
        await ledger.add_entry(s, client=client, account_ref=account_ref, kind="adjustment", amount=change, now=now)
    return change


async def _undo_kept_instalments(s: AsyncSession, *, client: str, account_ref: str, kept: store.KeptArrangement,
                                 paid: Decimal, now: dt.datetime) -> None:
    """A kept plan broken by money taken back: each instalment what is still paid toward the plan (in due order,
    `allocate`) no longer reaches is not kept any more: broken once its grace day has passed (promise.broken, as the
    evaluator would have judged it), else cancelled, as a broken plan's pending instalments are (promise.cancelled,
    so readers that counted it kept learn it is not). The instalments still paid stay kept."""
    # The account is locked (the reversal took the ledger's row lock), so its promises change under no one else.
    instalments = next((found for arrangement, found in await store.account_arrangements(s, client, account_ref)
                        if arrangement.id == kept.id), [])
    shares = allocate(paid, [i.amount for i in instalments])
    for instalment, share in zip(instalments, shares, strict=True):
        if share >= instalment.amount or instalment.status != "kept":
            continue
        ends = deadline(instalment.due_date, kept.timezone)
        if now >= ends:
            await store.decide_promise(s, instalment.promise_id, "broken", now)
            toward = await store.paid_between(s, client, account_ref, kept.made_at, ends)
            event: PromiseBroken | PromiseCancelled = PromiseBroken(
                promise_id=instalment.promise_id, account_ref=account_ref, broken_at=now, paid_amount=toward)
        else:
            await store.decide_promise(s, instalment.promise_id, "cancelled", now)
            event = PromiseCancelled(promise_id=instalment.promise_id, account_ref=account_ref, cancelled_at=now,
                                     reason="arrangement_broken")
        await outbox.add(s, [event.envelope(client=client, occurred_at=now)])


async def make_arrangement(db: Database, *, client: str, account_ref: str, kind: str,
                           instalments: list[ScheduledInstalment], source: str,
                           now: dt.datetime) -> ArrangementOutcome:
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
                                    kind=event.kind,
                                    instalments=[ScheduledInstalment(i.due_date, i.amount) for i in event.instalments],
                                    source="debtor_page", now=ctx.now, request_id=event.request_id)
    except DomainError as e:
        await outbox.add(ctx.session, [ArrangementDeclined(
            request_id=event.request_id, account_ref=event.account_ref, reason=e.detail or e.code,
            declined_at=ctx.now).envelope(client=ctx.envelope.client, occurred_at=ctx.now)])


async def _make_arrangement(s: AsyncSession, *, client: str, account_ref: str, kind: str,
                            instalments: list[ScheduledInstalment], source: str, now: dt.datetime,
                            request_id: uuid.UUID | None = None) -> ArrangementOutcome:
    copy = await get_client(s, ledger.SCHEMA, client)
    account = await ledger.lock_account(s, client, account_ref)
    if copy is None or account is None:
        raise NotFound(f"account {account_ref!r}")
    status = account_status(account.status, recalled=account.recalled)
    if not is_open(status):
        raise Conflict("account_not_open", f"the account is {status}")
    if await store.active_arrangement(s, client, account_ref) is not None:
        raise Conflict("arrangement_exists", "the account already has an active arrangement")
    today = local_today(copy.timezone, now)
    errors = arrangement_errors(kind=kind, balance=account.balance,
                                instalments=[(i.due_date, i.amount) for i in instalments],
                                limits=copy.limits, today=today, currency=copy.currency)
    if errors:
        raise Invalid("invalid_arrangement", "; ".join(errors), title="Invalid arrangement",
                      errors=[{"msg": e} for e in errors])
    arrangement_id = uuid.uuid4()
    total = sum((i.amount for i in instalments), Decimal(0))
    await store.insert_arrangement(s, arrangement_id=arrangement_id, client=client, account_ref=account_ref,
                                   kind=kind, total=total, made_at=now, source=source, instalments=instalments)
    for instalment in instalments:
        await store.insert_promise(s, promise_id=uuid.uuid4(), client=client, account_ref=account_ref,
                                   amount=instalment.amount, due_date=instalment.due_date, made_at=now,
                                   source="arrangement", arrangement_id=arrangement_id)
    await outbox.add(s, [ArrangementMade(
        arrangement_id=arrangement_id, account_ref=account_ref, kind=kind,
        total_amount=total, instalments=[Instalment(due_date=i.due_date, amount=i.amount) for i in instalments],
        made_at=now, source=source, request_id=request_id).envelope(client=client, occurred_at=now)])
    return ArrangementOutcome(id=arrangement_id, kind=kind, total_amount=total, status="active",
                              instalments=instalments)
