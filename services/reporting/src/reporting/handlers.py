"""Reporting's event handlers: every event folded into the read models, nothing read from other services."""

from __future__ import annotations

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import AccountPlaced, AccountRecalled, AccountSegmented, PaymentApplied, PaymentReversed
from reporting import store


async def on_placed(event: AccountPlaced, ctx: HandlerContext) -> None:
    await store.place_account(ctx.session, client=ctx.envelope.client, account_ref=event.account_ref,
                              balance=event.balance, product=event.product, placed_at=ctx.envelope.occurred_at)


async def on_segmented(event: AccountSegmented, ctx: HandlerContext) -> None:
    fields = event.model_dump(include={
        "bucket", "bucket_at_placement", "segment", "days_past_due", "treatment", "channels", "propensity",
        "cost_to_collect", "expected_net_recovery", "value_tier", "strategy_version", "strategy_arm",
        "model_version", "offer", "why"})
    await store.set_segment(ctx.session, client=ctx.envelope.client, account_ref=event.account_ref, fields=fields,
                            at=ctx.envelope.occurred_at)


async def on_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await store.set_recalled(ctx.session, ctx.envelope.client, event.account_ref, event.recalled_at)


async def on_payment_applied(event: PaymentApplied, ctx: HandlerContext) -> None:
    await store.record_payment(ctx.session, payment_id=event.payment_id, client=ctx.envelope.client,
                               account_ref=event.account_ref, amount=event.amount, paid_at=event.paid_at,
                               new_balance=event.new_balance, status=event.account_status, now=ctx.now)


async def on_payment_reversed(event: PaymentReversed, ctx: HandlerContext) -> None:
    await store.record_reversal(ctx.session, payment_id=event.payment_id, client=ctx.envelope.client,
                                account_ref=event.account_ref, amount=event.amount, new_balance=event.new_balance,
                                status=event.account_status)
