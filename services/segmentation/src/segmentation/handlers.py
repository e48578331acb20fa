"""Segmentation's event handlers: an account event in -> a new assignment + account.segmented out."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.accounts import account_status
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.clock import local_today
from recaudo_common.cost_tables import get_cost_table, keep_cost_table
from recaudo_common.db import Database
from recaudo_common.events import (
    AccountLegalHoldLifted,
    AccountLegalHoldSet,
    AccountPlaced,
    AccountRecalled,
    AccountSegmentedV2,
    AccountSettled,
    AccountUpdated,
    ArrangementBroken,
    ArrangementKept,
    ArrangementMade,
    ClientSettings,
    PaymentAdjusted,
    PaymentApplied,
    PaymentReversed,
    PaymentWriteOffReversed,
    PaymentWrittenOff,
    PromiseBroken,
    PromiseMade,
)
from recaudo_common.outbox import Cause, Outbox
from recaudo_common.telemetry import NO_RULE_ASSIGNMENTS
from segmentation import account_locks, model_store, plan_words, store
from segmentation.domain.assignment import assign
from segmentation.domain.boosting import Card
from segmentation.domain.buckets import (
    DEFAULT_BUCKETS,
    Bucket,
    aged_to,
    aging_held,
    bucket_for,
    bucket_holding,
    days_past_due_on,
)
from segmentation.domain.history import Fact
from segmentation.domain.propensity import Model
from segmentation.domain.strategy import Strategy, arm_of, default_strategy, full_costs
from segmentation.domain.treatment import NO_RULE, Score, scorecard
from segmentation.rows import Account, AssignmentInputs, AssignmentRow, Outcome, StatedAccount
from segmentation.schemas import strategy_of
from segmentation.segmented import Decision, NotPlain, moment, segmented_event, serialised

SCORECARD_VERSION = "scorecard-v1"
outbox = Outbox(store.SCHEMA)
log = logging.getLogger("recaudo.segmentation")


def buckets_of(stored: tuple[Bucket, ...] | None) -> tuple[Bucket, ...]:
    """A client company's own buckets, or the platform's default set until it has set some."""
    return stored or DEFAULT_BUCKETS


@dataclass(frozen=True)
class ClientView:
    """What segmenting needs of one client company, parsed once per transaction: its copy, buckets,
    strategies, costs and model."""

    client: ClientCopy
    buckets: tuple[Bucket, ...]
    champion: Strategy
    challenger: Strategy | None
    challenger_share: Decimal
    costs: dict[str, Decimal]
    model: Model | Card | None  # the model in use (a boosted model's card: its scores come from the scoring batch)


_VIEWS = "segmentation.client_views"


async def client_view(s: AsyncSession, slug: str) -> ClientView | None:
    """The client company's view, read once per transaction (a batch of events shares it); None until its
    settings have arrived."""
    views: dict[str, ClientView | None] = s.info.setdefault(_VIEWS, {})
    if slug not in views:
        views[slug] = await _load_view(s, slug)
    return views[slug]


def forget_client_views(s: AsyncSession) -> None:
    """The transaction changed a client company's settings: later events read them again."""
    s.info.pop(_VIEWS, None)


async def _load_view(s: AsyncSession, slug: str) -> ClientView | None:
    client = await get_client(s, store.SCHEMA, slug)
    if client is None:
        return None
    setup = await store.load_client_setup(s, slug)
    buckets = buckets_of(setup.buckets)
    champion, challenger, share = default_strategy(buckets), None, Decimal(0)
    if setup.strategy is not None:
        version, document = setup.strategy.version, setup.strategy.document
        champion = strategy_of(document, version)
        if document.challenger is not None:
            challenger, share = strategy_of(document.challenger, version), document.challenger.share
    costs = full_costs(setup.costs, setup.cost_table)  # the client company's cost table wins where it prices
    return ClientView(client, buckets, champion, challenger, share, costs, setup.model)


def decide(account: Account, view: ClientView, *, now: dt.datetime, trigger: str,
           day: dt.date | None = None) -> Decision:
    """Bucket, score and treatment of an account, by its client company's settings; no I/O."""
    today = day or local_today(view.client.timezone, now)
    status = f"on legal hold ({account.legal_hold})" if account.legal_hold else account.status
    counted_to = aged_to(today, status=account.status, as_of=account.as_of, held_since=account.held_since,
                         closed_on=account.closed_on)  # a plan holds aging; a closed account no longer ages
    dpd = days_past_due_on(counted_to, days_past_due_at_as_of=account.days_past_due_at_as_of, as_of=account.as_of)
    bucket = bucket_holding(dpd, view.buckets)
    # MISSION §8: the bucket at placement is the one the client company's file states, from its days past due as
    # of the file's `as_of`, however many days the file took to arrive (only the first assignment keeps it).
    stated = account.days_past_due_at_placement
    at_placement = bucket_for(account.days_past_due_at_as_of if stated is None else stated, view.buckets)
    strategy, arm = choose_strategy(view, account.client_slug, account.account_ref)
    score, model_version = propensity(view.model, account, dpd)
    result = assign(bucket=bucket.label, balance=account.balance, score=score, strategy=strategy, costs=view.costs,
                    status=status, arm=arm, indicators=account.scoring.indicators if account.scoring else None)
    inputs = AssignmentInputs(
        days_past_due=dpd, balance=account.balance, contactable=account.contactable, status=status, today=today,
        value_tier=result.tier, arm=arm, strategy_version=strategy.version, offer=result.offer.kind,
        model_version=model_version)
    return Decision(account, trigger, dpd, today, aging_held(status=account.status, held_since=account.held_since),
                    bucket, at_placement, strategy, arm, model_version, result, inputs)


async def assess_many(s: AsyncSession, accounts: Sequence[tuple[Account | None, str]], *, now: dt.datetime,
                      day: dt.date | None = None) -> list[AccountSegmentedV2 | None]:
    """Assigns bucket, score and treatment to account rows (locked by the caller, each with its trigger) and
    records why, in one statement; returns the event to publish for each, or None for an account not placed
    here yet (its placement will segment it) or whose client's settings have not arrived (on_client will)."""
    return [None if r is None else segmented_event(*r) for r in await record_many(s, accounts, now=now, day=day)]


async def record_many(s: AsyncSession, accounts: Sequence[tuple[Account | None, str]], *, now: dt.datetime,
                      day: dt.date | None = None) -> list[tuple[Decision, str] | None]:
    """assess_many's decisions as recorded, each with its account's bucket at placement, for the caller to write
    their events."""
    decisions: list[Decision | None] = []
    for account, trigger in accounts:
        view = await client_view(s, account.client_slug) if account is not None else None
        decisions.append(decide(account, view, now=now, trigger=trigger, day=day)
                         if account is not None and view is not None else None)
    recorded = [d for d in decisions if d is not None]
    report_no_rule(recorded)
    at_placement = await store.record_assignments(s, now=now, assignments=[
        AssignmentRow(
            client=d.account.client_slug, account_ref=d.account.account_ref, trigger=d.trigger,
            days_past_due=d.days_past_due, bucket=d.bucket.label, segment=d.result.segment,
            treatment=d.result.treatment.name, propensity=d.result.propensity,
            cost_to_collect=d.result.cost_to_collect, inputs=d.inputs, why=d.result.why,
            bucket_at_placement=d.bucket_at_placement)
        for d in recorded])
    return [None if d is None else (d, at_placement[(d.account.client_slug, d.account.account_ref)])
            for d in decisions]


def report_no_rule(decisions: Sequence[Decision]) -> None:
    """Accounts left without treatment because their bucket has no rule (a bucket set and a strategy that disagree,
    from before replacing buckets checked the strategy): counted, and said once a batch per client company and
    strategy, with its buckets and no account or person in it, so an operator knows to complete the strategy."""
    uncovered: dict[tuple[str, str, int], set[str]] = {}
    for d in decisions:
        if d.result.treatment == NO_RULE:
            NO_RULE_ASSIGNMENTS.labels(arm=d.arm).inc()
            uncovered.setdefault((d.account.client_slug, d.arm, d.strategy.version), set()).add(d.bucket.label)
    for (client, arm, version), buckets in uncovered.items():
        log.warning("client %s: %s strategy v%d has no rule for buckets %s; accounts in them get no treatment until "
                    "it covers them", client, arm, version, ", ".join(sorted(buckets)))


async def assess(s: AsyncSession, account: Account | None, *, now: dt.datetime, trigger: str,
                 day: dt.date | None = None) -> AccountSegmentedV2 | None:
    """assess_many for one account."""
    return (await assess_many(s, [(account, trigger)], now=now, day=day))[0]


def propensity(model: Model | Card | None, account: Account, dpd: int) -> tuple[Score, str]:
    """The probability of the model in use: a boosted model's as the scoring batch measured it, with its top
    contributions (until the batch reaches the account, the scorecard's), a logistic regression's of before #22,
    else the cold-start scorecard."""
    scoring = account.scoring
    if isinstance(model, Card) and scoring is not None and scoring.propensity is not None \
            and scoring.model_version == model.version:
        return Score(scoring.propensity, (f"model {model.version}, holdout AUC {model.holdout_auc:.2f}",
                                          *scoring.reasons)), model.version
    if isinstance(model, Model):
        return Score(model.predict(dpd, account.balance, account.contactable),
                     (f"model {model.version}, holdout AUC {model.holdout_auc:.2f}", *model.reasons())), model.version
    return scorecard(days_past_due=dpd, balance=account.balance, contactable=account.contactable), SCORECARD_VERSION


def choose_strategy(view: ClientView, client: str, account_ref: str
                    ) -> tuple[Strategy, Literal["champion", "challenger"]]:
    """The champion, or the challenger for the stable share of accounts its split assigns to it."""
    if view.challenger is not None and arm_of(client, account_ref, view.challenger_share) == "challenger":
        return view.challenger, "challenger"
    return view.champion, "champion"


async def segment(ctx: HandlerContext, account: Account | None, *, trigger: str) -> None:
    await segment_each([(account, trigger, ctx)], now=ctx.now)


async def segment_each(accounts: Sequence[tuple[Account | None, str, HandlerContext]], *, now: dt.datetime) -> None:
    """assess_many for accounts each brought by an event of its own (with its trigger): each decision is emitted as
    caused by its account's event, its envelope written as JSON straight from the decision (segmented.serialised),
    or through the model for a value it does not write the model's way."""
    recorded = await record_many(accounts[0][2].session, [(a, trigger) for a, trigger, _ in accounts], now=now)
    moments: dict[dt.datetime, str] = {}  # each event's context has its own now; a batch's are mostly one
    for decided, (_, _, ctx) in zip(recorded, accounts, strict=True):
        if decided is None:
            continue
        occurred_at = moments.get(ctx.now) or moments.setdefault(ctx.now, moment(ctx.now))
        try:
            ctx.emit_serialised(serialised(*decided, client=ctx.envelope.client, occurred_at=occurred_at,
                                           causation=ctx.envelope))
        except NotPlain:
            await ctx.emit(segmented_event(*decided))


async def run_aging(db: Database, *, client: str, day: dt.date, now: dt.datetime, chunk: int = 2000) -> int:
    """The daily aging of one client company: accounts whose days past due cross a bucket boundary on
    `day` are re-segmented. Set-based selection, committed in chunks: running it twice on a day changes
    nothing, and a crashed run resumes where it stopped."""
    async with db.transaction() as s:
        await store.start_aging_run(s, client, day, now)
        stored = await store.get_buckets(s, client)
        buckets = buckets_of(stored.buckets if stored is not None else None)
    moved, after, run = 0, "", Cause.command()  # one run, one correlation for what it moves
    while True:
        async with db.transaction() as s:
            accounts = await store.accounts_changing_bucket(s, client=client, day=day, buckets=buckets,
                                                            after=after, limit=chunk)
            events = await assess_many(s, [(account, "aging") for account in accounts], now=now, day=day)
            await outbox.add(s, [e.envelope(client=client, occurred_at=now) for e in events if e is not None],
                             cause=run)
            await store.record_aging_chunk(s, client, day, len(accounts), now=now, last=len(accounts) < chunk)
        moved += len(accounts)
        if len(accounts) < chunk:
            return moved
        after = accounts[-1].account_ref


async def resegment_requested(db: Database, *, now: dt.datetime, chunk: int = 2000) -> dict[str, int]:
    """Re-segments every open account of client companies whose strategy, costs or cost table changed."""
    async with db.transaction() as s:
        requests = await store.pending_resegmentations(s)
    done: dict[str, int] = {}
    for request_id, client, asked_under in requests:
        after, count, cause = "", 0, asked_under or Cause.command()  # the strategy or costs change's request
        while True:
            async with db.transaction() as s:
                accounts = await store.open_accounts_after(s, client, after, chunk)
                events = await assess_many(s, [(account, "strategy_change") for account in accounts], now=now)
                await outbox.add(s, [e.envelope(client=client, occurred_at=now) for e in events if e is not None],
                                 cause=cause)
                if len(accounts) < chunk:
                    await store.finish_resegmentation(s, request_id, now)
            count += len(accounts)
            if len(accounts) < chunk:
                break
            after = accounts[-1].account_ref
        done[client] = count
    return done


async def age_due_clients(db: Database, *, now: dt.datetime) -> dict[str, int]:
    """Runs the aging of every client company whose local day has no finished run yet."""
    async with db.transaction() as s:
        clients = await store.client_slugs(s)
    results: dict[str, int] = {}
    for slug, timezone in clients:
        day = local_today(timezone, now)
        async with db.transaction() as s:
            if await store.aging_done(s, slug, day):
                continue
        results[slug] = await run_aging(db, client=slug, day=day, now=now)
    return results


async def on_account_stated(event: AccountPlaced | AccountUpdated, ctx: HandlerContext) -> None:
    await on_accounts_stated([(event, ctx)])


async def on_accounts_stated(events: list[tuple[AccountPlaced | AccountUpdated, HandlerContext]]) -> None:
    """Placements and balance updates, set-based: one upsert for the run (account_locks), one assignment write."""
    s = events[0][1].session
    await account_locks.share_account_locks(s, [(ctx.envelope.client, event.account_ref) for event, ctx in events])
    stored = await store.upsert_accounts(s, [
        StatedAccount(client=ctx.envelope.client, account_ref=event.account_ref, balance=event.balance,
                            days_past_due=event.days_past_due, as_of=event.as_of,
                            contactable=event.has_phone or event.has_email, product=event.product)
        for event, ctx in events], events[0][1].now)
    planned = await plan_words.apply(s, list(stored))  # a plan made before the placement holds its days
    accounts: list[tuple[Account | None, str, HandlerContext]] = []
    for event, ctx in events:
        placed = stored[(ctx.envelope.client, event.account_ref)]
        account: Account | None = planned.get((ctx.envelope.client, event.account_ref), placed.account)
        paid = placed.paid
        # Topics are not ordered between them: payments applied before this placement (or the restatement that
        # reached us first, its placement a dead letter) still count; a word is kept only while there is no row.
        if paid is not None:
            account = await store.set_balance_status(s, ctx.envelope.client, event.account_ref,
                                                     balance=max(paid.new_balance, Decimal(0)),
                                                     status=paid.account_status, now=ctx.now)
        accounts.append((account, "placement" if isinstance(event, AccountPlaced) else "balance_update", ctx))
    await store.forget_ledger_words(s, [(ctx.envelope.client, event.account_ref) for event, ctx in events
                                        if stored[(ctx.envelope.client, event.account_ref)].paid is not None])
    await segment_each(accounts, now=events[0][1].now)


LedgerEvent = PaymentApplied | PaymentReversed | PaymentWrittenOff | PaymentWriteOffReversed | PaymentAdjusted
_TRIGGERS = ((PaymentApplied, "payment"), (PaymentReversed, "reversal"), (PaymentWrittenOff, "write_off"),
             (PaymentWriteOffReversed, "write_off_reversal"), (PaymentAdjusted, "adjustment"))


def trigger_of(event: LedgerEvent) -> str:
    return next(trigger for kind, trigger in _TRIGGERS if isinstance(event, kind))


async def on_payment(event: LedgerEvent, ctx: HandlerContext) -> None:
    await on_payments([(event, ctx)])


async def on_payments(events: list[tuple[LedgerEvent, HandlerContext]]) -> None:
    """What the ledger did (at most one event per account: a run of them is cut where an account repeats), in a
    few statements whatever their number: a payment or its reversal kept in the account's history, the balance the
    ledger's, its status the ledger's except that a recalled account stays recalled (a debtor may still pay after
    it), then segmented; for an account not placed here yet (account_locks: none being placed), the ledger's word
    kept for its placement. A restated balance's adjustment is the ledger's word too (a paid account owed again
    opens, a settled one stays settled). A write-off closes the account once nothing is left to pay (no longer
    segmented or aged: its treatment is stopped); its reversal opens it again and the strategy decides it afresh.
    Neither is a payment: no fact."""
    s, now = events[0][1].session, events[0][1].now
    await account_locks.lock_unplaced(s, [(ctx.envelope.client, e.account_ref) for e, ctx in events])
    await store.record_outcomes(s, [
        Outcome(ctx.envelope.client, e.account_ref, e.paid_at, e.amount, e.new_balance, e.account_status)
        for e, ctx in events if isinstance(e, PaymentApplied)])
    # The label's "paid": paid in full or settled; a write-off closes the account but is no payment.
    await model_store.record_facts(s, [
        (ctx.envelope.client, e.account_ref,
         Fact(e.paid_at, "payment", amount=e.amount, closes=e.account_status in ("paid", "settled"))
         if isinstance(e, PaymentApplied) else Fact(e.reversed_at, "reversal", amount=e.amount))
        for e, ctx in events if isinstance(e, PaymentApplied | PaymentReversed)])
    accounts = await store.set_balances_statuses(s, [
        (ctx.envelope.client, e.account_ref, max(e.new_balance, Decimal(0)), None) for e, ctx in events], now)
    # Not placed here yet: the placement takes the ledger's last word, which a reversal or a write-off may be.
    await store.keep_ledger_words(s, [(ctx.envelope.client, e.account_ref, e.new_balance, e.account_status)
                                      for e, ctx in events if (ctx.envelope.client, e.account_ref) not in accounts],
                                  now)
    restated: list[tuple[str, str, Decimal | None, str | None]] = []
    for e, ctx in events:
        account = accounts.get((ctx.envelope.client, e.account_ref))
        if account is not None:
            status = account_status(e.account_status, recalled=account.status == "recalled")
            if status != account.status:
                restated.append((ctx.envelope.client, e.account_ref, None, status))
    accounts |= await store.set_balances_statuses(s, restated, now)
    await segment_each([(accounts.get((ctx.envelope.client, e.account_ref)), trigger_of(e), ctx)
                        for e, ctx in events], now=now)


async def on_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await on_recalls([(event, ctx)])


async def on_recalls(events: list[tuple[AccountRecalled, HandlerContext]]) -> None:
    """Accounts the client company withdrew (a recall file's, in a few statements): recalled for good here (a later
    payment does not put them back to work) and assessed once more."""
    s, now = events[0][1].session, events[0][1].now
    accounts = await store.set_balances_statuses(s, [(ctx.envelope.client, e.account_ref, None, "recalled")
                                                     for e, ctx in events], now)
    await segment_each([(accounts.get((ctx.envelope.client, e.account_ref)), "recall", ctx) for e, ctx in events],
                       now=now)


async def on_settled(event: AccountSettled, ctx: HandlerContext) -> None:
    await model_store.record_fact(ctx.session, ctx.envelope.client, event.account_ref,
                                  Fact(event.settled_at, "settled", closes=True))
    # The one rule (recaudo_common.accounts): a settlement paid after the client company recalled the account (one
    # agreed before it) leaves it recalled.
    known = await store.lock_account(ctx.session, ctx.envelope.client, event.account_ref)
    status = account_status("settled", recalled=known is not None and known.status == "recalled")
    account = await store.set_balance_status(ctx.session, ctx.envelope.client, event.account_ref,
                                             status=status, now=ctx.now)
    await segment(ctx, account, trigger="settled")


async def on_client(event: ClientSettings, ctx: HandlerContext) -> None:
    """Keeps the client company's cost table (a changed one re-segments its accounts: their cost to collect moves)
    and segments the accounts that arrived before its settings did."""
    forget_client_views(ctx.session)
    before = await get_cost_table(ctx.session, store.SCHEMA, event.slug)
    await keep_cost_table(ctx.session, store.SCHEMA, event, ctx)  # an older event never replaces a newer table
    if await get_cost_table(ctx.session, store.SCHEMA, event.slug) != before:
        await store.request_resegmentation(ctx.session, event.slug, "client cost table", ctx.now)
    accounts = await store.unsegmented_accounts(ctx.session, event.slug)
    for segmented in await assess_many(ctx.session, [(a, "placement") for a in accounts], now=ctx.now):
        if segmented is not None:
            await ctx.emit(segmented)


async def on_promise(event: PromiseMade | PromiseBroken, ctx: HandlerContext) -> None:
    fact = Fact(event.made_at, "promise_made", detail=event.source) if isinstance(event, PromiseMade) else \
        Fact(event.broken_at, "promise_broken", detail=str(event.promise_id))
    await model_store.record_fact(ctx.session, ctx.envelope.client, event.account_ref, fact)
    account = await store.lock_account(ctx.session, ctx.envelope.client, event.account_ref)
    await segment(ctx, account, trigger="promise_made" if isinstance(event, PromiseMade) else "promise_broken")


async def on_arrangement(event: ArrangementMade | ArrangementKept | ArrangementBroken, ctx: HandlerContext) -> None:
    """An instalment plan holds the account's aging while it lasts; kept or broken, aging resumes. Both from the
    client company's day the event says it happened, not the day it is handled: a consumer behind, or a dead letter
    replayed, moves no day past due. For an account not placed here yet (account_locks: none being placed), kept
    for its placement (plan_words)."""
    client = await get_client(ctx.session, store.SCHEMA, ctx.envelope.client)
    happened = event.made_at if isinstance(event, ArrangementMade) else \
        event.kept_at if isinstance(event, ArrangementKept) else event.broken_at
    day = local_today(client.timezone if client else "UTC", min(happened, ctx.now))
    made = isinstance(event, ArrangementMade)
    account = await plan_words.arrangement_said(
        ctx.session, ctx.envelope.client, event.account_ref, day, made=made,
        holds=isinstance(event, ArrangementMade) and event.kind == "instalment_plan", now=ctx.now)
    trigger = "arrangement_made" if made else "arrangement_kept" if isinstance(event, ArrangementKept) else \
        "arrangement_broken"
    await segment(ctx, account, trigger=trigger)


async def on_legal_hold(event: AccountLegalHoldSet | AccountLegalHoldLifted, ctx: HandlerContext) -> None:
    hold = event.hold if isinstance(event, AccountLegalHoldSet) else None
    account = await store.set_legal_hold(ctx.session, ctx.envelope.client, event.account_ref, hold)
    await segment(ctx, account, trigger="legal_hold_set" if hold else "legal_hold_lifted")
