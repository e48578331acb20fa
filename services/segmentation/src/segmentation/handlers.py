"""Segmentation's event handlers: an account event in -> a new assignment + account.segmented out."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.client_copy import get_client
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    AccountSettled,
    AccountUpdated,
    ClientSettings,
    PaymentApplied,
    PaymentReversed,
)
from segmentation import store
from segmentation.domain.buckets import bucket_for, days_past_due_on
from segmentation.domain.treatment import assign, scorecard

SCORECARD_VERSION = "scorecard-v1"


async def segment(ctx: HandlerContext, account: dict[str, Any] | None, *, trigger: str) -> None:
    """Assigns bucket, score and treatment to an account row (locked by the caller's update)."""
    if account is None:
        return  # an event for an account not placed here yet: its placement will segment it
    s, client_slug, account_ref = ctx.session, account["client_slug"], account["account_ref"]
    client = await get_client(s, store.SCHEMA, client_slug)
    if client is None:
        return  # the client's settings have not arrived yet (another topic): on_client segments it then
    today = ctx.now.astimezone(zoneinfo.ZoneInfo(client.timezone)).date()
    status = account["status"]
    dpd = days_past_due_on(today, days_past_due_at_as_of=account["days_past_due_at_as_of"],
                           as_of=account["as_of"])
    bucket = bucket_for(dpd)
    score = scorecard(days_past_due=dpd, balance=account["balance"], contactable=account["contactable"])
    result = assign(bucket=bucket, balance=account["balance"], score=score, status=status)
    placement_bucket = await store.record_assignment(
        s, client=client_slug, account_ref=account_ref, now=ctx.now, trigger=trigger, days_past_due=dpd,
        bucket=bucket, segment=result.segment, treatment=result.treatment.name, propensity=result.propensity,
        cost_to_collect=result.cost_to_collect,
        inputs={"days_past_due": dpd, "balance": str(account["balance"]), "contactable": account["contactable"],
                "status": status, "today": today.isoformat()},
        why=result.why)
    await ctx.emit(AccountSegmented(
        account_ref=account_ref, days_past_due=dpd, bucket=bucket, bucket_at_placement=placement_bucket,
        segment=result.segment, treatment=result.treatment.name, channels=list(result.treatment.channels),
        propensity=result.propensity, cost_to_collect=result.cost_to_collect,
        expected_net_recovery=result.expected_net_recovery, strategy_version=1, strategy_arm="champion",
        model_version=SCORECARD_VERSION, why=result.why, trigger=trigger))


async def on_account_stated(event: AccountPlaced | AccountUpdated, ctx: HandlerContext) -> None:
    account = await store.upsert_account(
        ctx.session, client=ctx.envelope.client, account_ref=event.account_ref, balance=event.balance,
        days_past_due=event.days_past_due, as_of=event.as_of, contactable=bool(event.phones or event.email),
        now=ctx.now)
    await segment(ctx, account, trigger="placement" if isinstance(event, AccountPlaced) else "balance_update")


async def on_payment(event: PaymentApplied | PaymentReversed, ctx: HandlerContext) -> None:
    status = event.account_status
    account = await store.set_balance_status(ctx.session, ctx.envelope.client, event.account_ref,
                                             balance=max(event.new_balance, Decimal(0)), status=status,
                                             now=ctx.now)
    await segment(ctx, account, trigger="payment" if isinstance(event, PaymentApplied) else "reversal")


async def on_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    account = await store.set_balance_status(ctx.session, ctx.envelope.client, event.account_ref,
                                             status="recalled", now=ctx.now)
    await segment(ctx, account, trigger="recall")


async def on_settled(event: AccountSettled, ctx: HandlerContext) -> None:
    account = await store.set_balance_status(ctx.session, ctx.envelope.client, event.account_ref,
                                             status="settled", now=ctx.now)
    await segment(ctx, account, trigger="settled")


async def on_client(event: ClientSettings, ctx: HandlerContext) -> None:
    """Segments the accounts that arrived before their client company's settings did."""
    for account in await store.unsegmented_accounts(ctx.session, event.slug):
        await segment(ctx, account, trigger="placement")
