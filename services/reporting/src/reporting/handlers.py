"""Reporting's event handlers: every event folded into the read models, nothing read from other services."""

from __future__ import annotations

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    ArrangementBroken,
    ArrangementKept,
    ArrangementMade,
    ContactAttempted,
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    PaymentApplied,
    PaymentReversed,
    PromiseBroken,
    PromiseCancelled,
    PromiseKept,
    PromiseMade,
)
from recaudo_common.telemetry import REPORT_FRESHNESS
from reporting import store


async def on_placed(event: AccountPlaced, ctx: HandlerContext) -> None:
    await on_placed_many([(event, ctx)])


async def on_placed_many(events: list[tuple[AccountPlaced, HandlerContext]]) -> None:
    s = events[0][1].session
    await store.place_accounts(s, [
        {"client": ctx.envelope.client, "account_ref": e.account_ref, "balance": e.balance, "product": e.product,
         "placed_at": ctx.envelope.occurred_at} for e, ctx in events])
    for client in sorted({ctx.envelope.client for _, ctx in events}):
        await store.notify_change(s, client)


async def on_segmented(event: AccountSegmented, ctx: HandlerContext) -> None:
    await on_segmented_many([(event, ctx)])


async def on_segmented_many(events: list[tuple[AccountSegmented, HandlerContext]]) -> None:
    await store.set_segments(events[0][1].session, [
        {"client": ctx.envelope.client, "account_ref": e.account_ref, "event_id": ctx.envelope.event_id,
         "at": ctx.envelope.occurred_at, **e.model_dump(include=set(store.SEGMENT_FIELDS))} for e, ctx in events])


async def on_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await store.set_recalled(ctx.session, ctx.envelope.client, event.account_ref, event.recalled_at)


async def on_payment_applied(event: PaymentApplied, ctx: HandlerContext) -> None:
    await store.record_payment(ctx.session, payment_id=event.payment_id, client=ctx.envelope.client,
                               account_ref=event.account_ref, amount=event.amount, paid_at=event.paid_at,
                               new_balance=event.new_balance, status=event.account_status, now=ctx.now)
    await store.record_status(ctx.session, event_id=ctx.envelope.event_id, client=ctx.envelope.client,
                              account_ref=event.account_ref, at=event.paid_at, status=event.account_status)
    await store.notify_change(ctx.session, ctx.envelope.client)
    REPORT_FRESHNESS.observe(max((ctx.now - ctx.envelope.occurred_at).total_seconds(), 0.0))


async def on_payment_reversed(event: PaymentReversed, ctx: HandlerContext) -> None:
    await store.record_reversal(ctx.session, payment_id=event.payment_id, client=ctx.envelope.client,
                                account_ref=event.account_ref, amount=event.amount, new_balance=event.new_balance,
                                status=event.account_status)
    await store.record_status(ctx.session, event_id=ctx.envelope.event_id, client=ctx.envelope.client,
                              account_ref=event.account_ref, at=event.reversed_at, status=event.account_status)
    await store.notify_change(ctx.session, ctx.envelope.client)


async def on_contact(event: ContactAttempted | ContactDelivered | ContactFailed | ContactLogged,
                     ctx: HandlerContext) -> None:
    common = {"client": ctx.envelope.client, "account_ref": event.account_ref, "channel": event.channel}
    if isinstance(event, ContactAttempted):
        await store.record_contact(ctx.session, contact_id=event.attempt_id, at=event.attempted_at, attempted=True,
                                   cost=event.cost, **common)
    elif isinstance(event, ContactDelivered):
        await store.record_contact(ctx.session, contact_id=event.attempt_id, at=event.delivered_at, delivered=True,
                                   **common)
    elif isinstance(event, ContactFailed):
        await store.record_contact(ctx.session, contact_id=event.attempt_id, at=event.failed_at, **common)
    else:
        await store.record_contact(ctx.session, contact_id=event.contact_id, at=event.contacted_at,
                                   outcome=event.outcome, **common)


async def on_promise(event: PromiseMade | PromiseKept | PromiseBroken | PromiseCancelled, ctx: HandlerContext) -> None:
    common = {"promise_id": event.promise_id, "client": ctx.envelope.client, "account_ref": event.account_ref}
    if isinstance(event, PromiseMade):
        await store.record_promise(ctx.session, amount=event.amount, due_date=event.due_date, made_at=event.made_at,
                                   source=event.source, **common)
    elif isinstance(event, PromiseKept):
        await store.record_promise(ctx.session, result="kept", decided_at=event.kept_at, **common)
    elif isinstance(event, PromiseBroken):
        await store.record_promise(ctx.session, result="broken", decided_at=event.broken_at, **common)
    else:
        await store.record_promise(ctx.session, result="cancelled", decided_at=event.cancelled_at, **common)


async def on_arrangement(event: ArrangementMade | ArrangementKept | ArrangementBroken, ctx: HandlerContext) -> None:
    common = {"arrangement_id": event.arrangement_id, "client": ctx.envelope.client, "account_ref": event.account_ref}
    if isinstance(event, ArrangementMade):
        await store.record_arrangement(ctx.session, kind=event.kind, total_amount=event.total_amount,
                                       instalments=len(event.instalments), source=event.source,
                                       made_at=event.made_at, **common)
    elif isinstance(event, ArrangementKept):
        await store.record_arrangement(ctx.session, result="kept", decided_at=event.kept_at, **common)
    else:
        await store.record_arrangement(ctx.session, result="broken", decided_at=event.broken_at, **common)
