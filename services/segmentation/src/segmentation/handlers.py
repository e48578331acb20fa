"""Segmentation's event handlers: an account event in -> a new assignment + account.segmented out."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.client_copy import get_client
from recaudo_common.db import Database
from recaudo_common.events import (
    AccountLegalHoldLifted,
    AccountLegalHoldSet,
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    AccountSettled,
    AccountUpdated,
    ArrangementBroken,
    ArrangementKept,
    ArrangementMade,
    ClientSettings,
    PaymentApplied,
    PaymentReversed,
    PromiseBroken,
    PromiseMade,
)
from recaudo_common.outbox import Outbox
from segmentation import store
from segmentation.domain.assignment import assign
from segmentation.domain.buckets import DEFAULT_BUCKETS, Bucket, bucket_for, days_past_due_on
from segmentation.domain.propensity import (
    HORIZON_DAYS,
    Model,
    NotEnoughDataError,
    Sample,
    model_from_json,
    model_to_json,
    train,
)
from segmentation.domain.strategy import Strategy, arm_of, default_strategy, full_costs
from segmentation.domain.strategy_codec import costs_from_json, strategy_from_json
from segmentation.domain.treatment import Score, scorecard

SCORECARD_VERSION = "scorecard-v1"
outbox = Outbox(store.SCHEMA)


def buckets_of(stored: dict[str, Any] | None) -> tuple[Bucket, ...]:
    if stored is None:
        return DEFAULT_BUCKETS
    return tuple(Bucket(b["label"], b["low"], b["high"]) for b in stored["buckets"])


async def assess(s: AsyncSession, account: dict[str, Any] | None, *, now: dt.datetime, trigger: str,
                 day: dt.date | None = None) -> AccountSegmented | None:
    """Assigns bucket, score and treatment to an account row (locked by the caller) and records why;
    returns the event to publish, or None when the client's settings have not arrived yet."""
    if account is None:
        return None  # an event for an account not placed here yet: its placement will segment it
    client_slug, account_ref = account["client_slug"], account["account_ref"]
    client = await get_client(s, store.SCHEMA, client_slug)
    if client is None:
        return None  # the client's settings have not arrived yet (another topic): on_client segments it then
    today = day or now.astimezone(zoneinfo.ZoneInfo(client.timezone)).date()
    status = f"on legal hold ({account['legal_hold']})" if account["legal_hold"] else account["status"]
    aged_to = min(today, account["held_since"]) if account["held_since"] else today  # a plan holds aging
    dpd = days_past_due_on(aged_to, days_past_due_at_as_of=account["days_past_due_at_as_of"],
                           as_of=account["as_of"])
    settings = await store.load_client_settings(s, client_slug)
    buckets = buckets_of({"buckets": settings["buckets"]} if settings["buckets"] else None)
    bucket = bucket_for(dpd, buckets)
    strategy, arm = choose_strategy(settings, buckets, client_slug, account_ref)
    score, model_version = propensity(settings["model"], dpd, account["balance"], account["contactable"])
    result = assign(bucket=bucket, balance=account["balance"], score=score, strategy=strategy,
                    costs=full_costs(costs_from_json(settings["costs"])), status=status, arm=arm)
    placement_bucket = await store.record_assignment(
        s, client=client_slug, account_ref=account_ref, now=now, trigger=trigger, days_past_due=dpd,
        bucket=bucket, segment=result.segment, treatment=result.treatment.name, propensity=result.propensity,
        cost_to_collect=result.cost_to_collect,
        inputs={"days_past_due": dpd, "balance": str(account["balance"]), "contactable": account["contactable"],
                "status": status, "today": today.isoformat(), "value_tier": result.tier, "arm": arm,
                "strategy_version": strategy.version, "offer": result.offer.kind, "model_version": model_version},
        why=result.why)
    return AccountSegmented(
        account_ref=account_ref, days_past_due=dpd, bucket=bucket, bucket_at_placement=placement_bucket,
        segment=result.segment, treatment=result.treatment.name, channels=list(result.treatment.channels),
        propensity=result.propensity, cost_to_collect=result.cost_to_collect,
        expected_net_recovery=result.expected_net_recovery, strategy_version=strategy.version, strategy_arm=arm,
        model_version=model_version, why=result.why, trigger=trigger, value_tier=result.tier,
        cadence_days=result.cadence_days, offer=result.offer.kind, offer_discount_pct=result.offer.discount_pct,
        offer_instalments=result.offer.instalments)


def propensity(model_body: dict[str, Any] | None, dpd: int, balance: Decimal, contactable: bool
               ) -> tuple[Score, str]:
    """The latest trained model's probability when there is one, else the cold-start scorecard."""
    if model_body is None:
        return scorecard(days_past_due=dpd, balance=balance, contactable=contactable), SCORECARD_VERSION
    model = model_from_json(model_body)
    return Score(model.predict(dpd, balance, contactable),
                 (f"model {model.version}, holdout AUC {model.holdout_auc:.2f}", *model.reasons())), model.version


async def train_model(db: Database, *, client: str, now: dt.datetime) -> Model:
    """Trains a new propensity model on the client company's observed outcomes and makes it current."""
    async with db.transaction() as s:
        rows = await store.training_samples(s, client, before=now, horizon_days=HORIZON_DAYS)
    samples = [Sample(r["days_past_due"], r["balance"], r["contactable"], r["paid"]) for r in rows]
    model = train(samples, version=f"logreg-{now:%Y%m%d%H%M%S}")
    async with db.transaction() as s:
        await store.save_model(s, client, model_to_json(model), now)
        await store.request_resegmentation(s, client, f"model {model.version}", now)
    return model


async def retrain_due_models(db: Database, *, now: dt.datetime, every_days: int = 7) -> dict[str, str]:
    """The scheduled retrain: a client company whose model is older than a week (or absent) gets a new one
    when it has enough outcomes."""
    async with db.transaction() as s:
        clients = await store.client_slugs(s)
    trained: dict[str, str] = {}
    for slug, _ in clients:
        async with db.transaction() as s:
            last = await store.latest_model_at(s, slug)
        if last is not None and now - last < dt.timedelta(days=every_days):
            continue
        try:
            trained[slug] = (await train_model(db, client=slug, now=now)).version
        except NotEnoughDataError:
            continue
    return trained


def choose_strategy(settings: dict[str, Any], buckets: tuple[Bucket, ...], client: str,
                    account_ref: str) -> tuple[Strategy, Literal["champion", "challenger"]]:
    """The champion, or the challenger for the stable share of accounts its split assigns to it."""
    body = settings["strategy"]
    if body is None:
        return default_strategy(buckets), "champion"
    version = int(settings["strategy_version"])
    challenger = body.get("challenger")
    if challenger and arm_of(client, account_ref, Decimal(str(challenger["share"]))) == "challenger":
        return strategy_from_json(challenger, version), "challenger"
    return strategy_from_json(body, version), "champion"


async def segment(ctx: HandlerContext, account: dict[str, Any] | None, *, trigger: str) -> None:
    event = await assess(ctx.session, account, now=ctx.now, trigger=trigger)
    if event is not None:
        await ctx.emit(event)


async def run_aging(db: Database, *, client: str, day: dt.date, now: dt.datetime, chunk: int = 2000) -> int:
    """The daily aging of one client company: accounts whose days past due cross a bucket boundary on
    `day` are re-segmented. Set-based selection, committed in chunks: running it twice on a day changes
    nothing, and a crashed run resumes where it stopped."""
    async with db.transaction() as s:
        await store.start_aging_run(s, client, day, now)
        buckets = [{"label": b.label, "low": b.low, "high": b.high}
                   for b in buckets_of(await store.get_buckets(s, client))]
    moved, after = 0, ""
    while True:
        async with db.transaction() as s:
            accounts = await store.accounts_changing_bucket(s, client=client, day=day, buckets=buckets,
                                                            after=after, limit=chunk)
            envelopes = []
            for account in accounts:
                event = await assess(s, account, now=now, trigger="aging", day=day)
                if event is not None:
                    envelopes.append(event.envelope(client=client, occurred_at=now))
            await outbox.add(s, envelopes)
            await store.record_aging_chunk(s, client, day, len(accounts), now=now, last=len(accounts) < chunk)
        moved += len(accounts)
        if len(accounts) < chunk:
            return moved
        after = accounts[-1]["account_ref"]


async def resegment_requested(db: Database, *, now: dt.datetime, chunk: int = 2000) -> dict[str, int]:
    """Re-segments every open account of client companies whose strategy or costs changed."""
    async with db.transaction() as s:
        requests = await store.pending_resegmentations(s)
    done: dict[str, int] = {}
    for request_id, client in requests:
        after, count = "", 0
        while True:
            async with db.transaction() as s:
                accounts = await store.open_accounts_after(s, client, after, chunk)
                envelopes = []
                for account in accounts:
                    event = await assess(s, account, now=now, trigger="strategy_change")
                    if event is not None:
                        envelopes.append(event.envelope(client=client, occurred_at=now))
                await outbox.add(s, envelopes)
                if len(accounts) < chunk:
                    await store.finish_resegmentation(s, request_id, now)
            count += len(accounts)
            if len(accounts) < chunk:
                break
            after = accounts[-1]["account_ref"]
        done[client] = count
    return done


async def age_due_clients(db: Database, *, now: dt.datetime) -> dict[str, int]:
    """Runs the aging of every client company whose local day has no finished run yet."""
    async with db.transaction() as s:
        clients = await store.client_slugs(s)
    results: dict[str, int] = {}
    for slug, timezone in clients:
        day = now.astimezone(zoneinfo.ZoneInfo(timezone)).date()
        async with db.transaction() as s:
            if await store.aging_done(s, slug, day):
                continue
        results[slug] = await run_aging(db, client=slug, day=day, now=now)
    return results


async def on_account_stated(event: AccountPlaced | AccountUpdated, ctx: HandlerContext) -> None:
    account = await store.upsert_account(
        ctx.session, client=ctx.envelope.client, account_ref=event.account_ref, balance=event.balance,
        days_past_due=event.days_past_due, as_of=event.as_of, contactable=bool(event.phones or event.email),
        now=ctx.now)
    # Topics are not ordered between them: payments applied before this placement reached us still count.
    paid = await store.latest_outcome(ctx.session, ctx.envelope.client, event.account_ref)
    if paid is not None and isinstance(event, AccountPlaced):
        account = await store.set_balance_status(ctx.session, ctx.envelope.client, event.account_ref,
                                                 balance=max(paid["new_balance"], Decimal(0)),
                                                 status=paid["account_status"], now=ctx.now)
    await segment(ctx, account, trigger="placement" if isinstance(event, AccountPlaced) else "balance_update")


async def on_payment(event: PaymentApplied | PaymentReversed, ctx: HandlerContext) -> None:
    status = event.account_status
    if isinstance(event, PaymentApplied):
        await store.record_outcome(ctx.session, ctx.envelope.client, event.account_ref, event.paid_at, event.amount,
                                   event.new_balance, event.account_status)
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


def _client_today(ctx: HandlerContext, timezone: str | None) -> dt.date:
    return ctx.now.astimezone(zoneinfo.ZoneInfo(timezone or "UTC")).date()


async def on_promise(event: PromiseMade | PromiseBroken, ctx: HandlerContext) -> None:
    account = await store.lock_account(ctx.session, ctx.envelope.client, event.account_ref)
    await segment(ctx, account, trigger="promise_made" if isinstance(event, PromiseMade) else "promise_broken")


async def on_arrangement(event: ArrangementMade | ArrangementKept | ArrangementBroken, ctx: HandlerContext) -> None:
    """An instalment plan holds the account's aging while it lasts; kept or broken, aging resumes."""
    client = await get_client(ctx.session, store.SCHEMA, ctx.envelope.client)
    today = _client_today(ctx, client.timezone if client else None)
    s, slug, ref = ctx.session, ctx.envelope.client, event.account_ref
    if isinstance(event, ArrangementMade):
        account = await store.hold_aging(s, slug, ref, today) if event.kind == "instalment_plan" else \
            await store.lock_account(s, slug, ref)
        trigger = "arrangement_made"
    else:
        account = await store.release_aging(s, slug, ref, today) or await store.lock_account(s, slug, ref)
        trigger = "arrangement_kept" if isinstance(event, ArrangementKept) else "arrangement_broken"
    await segment(ctx, account, trigger=trigger)


async def on_legal_hold(event: AccountLegalHoldSet | AccountLegalHoldLifted, ctx: HandlerContext) -> None:
    hold = event.hold if isinstance(event, AccountLegalHoldSet) else None
    account = await store.set_legal_hold(ctx.session, ctx.envelope.client, event.account_ref, hold)
    await segment(ctx, account, trigger="legal_hold_set" if hold else "legal_hold_lifted")
