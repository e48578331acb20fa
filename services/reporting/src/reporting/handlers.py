"""Reporting's handlers: every event folded into the read models, nothing read from other services; and the one
command, an operator setting the agency's commission rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.cost_tables import keep_cost_table
from recaudo_common.db import Database
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    AccountSegmentedV2,
    ArrangementBroken,
    ArrangementKept,
    ArrangementMade,
    ClientSettings,
    ContactAttempted,
    ContactAttemptedV2,
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    ContactWithdrawn,
    PaymentAdjusted,
    PaymentApplied,
    PaymentReversed,
    PaymentReversedV3,
    PromiseBroken,
    PromiseCancelled,
    PromiseKept,
    PromiseMade,
    PromiseReopened,
)
from recaudo_common.preconditions import IfMatch, check_if_match, etag_of
from recaudo_common.telemetry import REPORT_FRESHNESS
from reporting import commission_store, store, write_offs
from reporting.domain.kpis import check_commission_rates
from reporting.rows import AppliedPayment, ContactNews, Placement, Segmentation


async def on_client(event: ClientSettings, ctx: HandlerContext) -> None:
    """After the client copy: the client company's own cost table, which prices the report's contacts."""
    await keep_cost_table(ctx.session, store.SCHEMA, event, ctx)


async def on_placed(event: AccountPlaced, ctx: HandlerContext) -> None:
    await on_placed_many([(event, ctx)])


async def on_placed_many(events: list[tuple[AccountPlaced, HandlerContext]]) -> None:
    s = events[0][1].session
    await store.place_accounts(s, [
        Placement(client=ctx.envelope.client, account_ref=e.account_ref, balance=e.balance,
                  placed_at=ctx.envelope.occurred_at, product=e.product, debtor_ref=e.debtor_ref,
                  personal=e.personal) for e, ctx in events])
    for client in sorted({ctx.envelope.client for _, ctx in events}):
        await store.notify_change(s, client)


async def on_segmented(event: AccountSegmented, ctx: HandlerContext) -> None:
    await on_segmented_many([(event, ctx)])


async def on_segmented_many(events: list[tuple[AccountSegmented, HandlerContext]]) -> None:
    await store.set_segments(events[0][1].session, [Segmentation(
        client=ctx.envelope.client, account_ref=e.account_ref, event_id=ctx.envelope.event_id,
        at=ctx.envelope.occurred_at, bucket=e.bucket, bucket_at_placement=e.bucket_at_placement, segment=e.segment,
        days_past_due=e.days_past_due, treatment=e.treatment, channels=list(e.channels), propensity=e.propensity,
        cost_to_collect=e.cost_to_collect, expected_net_recovery=e.expected_net_recovery, value_tier=e.value_tier,
        strategy_version=e.strategy_version, strategy_arm=e.strategy_arm, model_version=e.model_version,
        offer=e.offer, why=e.why, bucket_low=e.bucket_low if isinstance(e, AccountSegmentedV2) else None,
        days_past_due_as_of=e.as_of if isinstance(e, AccountSegmentedV2) else None,
        aging_held=e.aging_held if isinstance(e, AccountSegmentedV2) else None)
        for e, ctx in events])


async def on_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await on_recalled_many([(event, ctx)])


async def on_recalled_many(events: list[tuple[AccountRecalled, HandlerContext]]) -> None:
    """A recall file's accounts, in one statement."""
    await store.set_recalled(events[0][1].session, [(ctx.envelope.client, e.account_ref, e.recalled_at)
                                                    for e, ctx in events])


async def on_payment_applied(event: PaymentApplied, ctx: HandlerContext) -> None:
    await on_payments_applied_many([(event, ctx)])


async def on_payments_applied_many(events: list[tuple[PaymentApplied, HandlerContext]]) -> None:
    """A run of payments in one statement, then one notice per client company (#24: at a payment gateway's pace
    the runs are long, and several statements per payment cost the report's worker about 2 ms of CPU each)."""
    s = events[0][1].session
    await store.record_payments(s, [
        AppliedPayment(payment_id=e.payment_id, event_id=ctx.envelope.event_id, client=ctx.envelope.client,
                       account_ref=e.account_ref, amount=e.amount, paid_at=e.paid_at, applied_at=ctx.now,
                       new_balance=e.new_balance, status=e.account_status) for e, ctx in events])
    for client in sorted({ctx.envelope.client for _, ctx in events}):
        await store.notify_change(s, client)
    for _, ctx in events:
        REPORT_FRESHNESS.observe(max((ctx.now - ctx.envelope.occurred_at).total_seconds(), 0.0))


async def on_payment_reversed(event: PaymentReversed, ctx: HandlerContext) -> None:
    if isinstance(event, PaymentReversedV3) and event.written_off_again:
        # The reversal took back money the payment had recovered on a written-off account: written off again.
        await write_offs.record(ctx.session, row_id=event.reversal_id, client=ctx.envelope.client,
                                account_ref=event.account_ref, kind="unrecovered", amount=event.written_off_again,
                                at=event.reversed_at)
    await store.record_reversal(ctx.session, reversal_id=event.reversal_id, payment_id=event.payment_id,
                                client=ctx.envelope.client, account_ref=event.account_ref, amount=event.amount,
                                at=event.reversed_at, new_balance=event.new_balance, status=event.account_status)
    await store.record_status(ctx.session, event_id=ctx.envelope.event_id, client=ctx.envelope.client,
                              account_ref=event.account_ref, at=event.reversed_at, status=event.account_status)
    await store.notify_change(ctx.session, ctx.envelope.client)


async def on_payment_adjusted(event: PaymentAdjusted, ctx: HandlerContext) -> None:
    """A restated balance's adjustment: no recovery and no report figure (the placed balance stays as placed), but
    the ledger's word after it in the account view, and its status (a paid account owed again is open again)."""
    await store.ledger_word(ctx.session, client=ctx.envelope.client, account_ref=event.account_ref,
                            balance=event.new_balance, status=event.account_status)
    await store.record_status(ctx.session, event_id=ctx.envelope.event_id, client=ctx.envelope.client,
                              account_ref=event.account_ref, at=event.adjusted_at, status=event.account_status)
    await store.notify_change(ctx.session, ctx.envelope.client)


Contact = ContactAttempted | ContactDelivered | ContactFailed | ContactLogged | ContactWithdrawn


def contact_news(event: Contact, client: str) -> ContactNews:
    """What the event adds to its contact: an attempt its cost, template and arm; a delivery or a failure its
    outcome so far; a logged contact (an agent's call) its outcome; a withdrawal (an agent call handed out and
    never made) that it is no attempt after all."""
    if isinstance(event, ContactAttempted):
        return ContactNews(event.attempt_id, client, event.account_ref, event.channel, event.attempted_at,
                           attempted=True, cost=event.cost, template=event.template, simulated=event.simulated,
                           best_time_arm=event.best_time_arm if isinstance(event, ContactAttemptedV2) else None)
    if isinstance(event, ContactDelivered):
        return ContactNews(event.attempt_id, client, event.account_ref, event.channel, event.delivered_at,
                           delivered=True)
    if isinstance(event, ContactFailed):
        return ContactNews(event.attempt_id, client, event.account_ref, event.channel, event.failed_at)
    if isinstance(event, ContactWithdrawn):
        return ContactNews(event.attempt_id, client, event.account_ref, event.channel, event.withdrawn_at,
                           withdrawn=True)
    return ContactNews(event.contact_id, client, event.account_ref, event.channel, event.contacted_at,
                       outcome=event.outcome)


async def on_contact(event: Contact, ctx: HandlerContext) -> None:
    await store.record_contacts(ctx.session, [contact_news(event, ctx.envelope.client)])


async def on_contacts_many(events: list[tuple[Contact, HandlerContext]]) -> None:
    """A run of contact events in one round trip: a bulk campaign's attempts and deliveries arrive by the
    thousand (#24)."""
    await store.record_contacts(events[0][1].session, [contact_news(e, ctx.envelope.client) for e, ctx in events])


async def on_promise(event: PromiseMade | PromiseKept | PromiseBroken | PromiseCancelled | PromiseReopened,
                     ctx: HandlerContext) -> None:
    s, client = ctx.session, ctx.envelope.client
    if isinstance(event, PromiseReopened):
        # Money that kept it was taken back: pending again, neither kept nor due until its next verdict.
        await store.reopen_promise(s, promise_id=event.promise_id)
        return
    if isinstance(event, PromiseMade):
        await store.record_promise(s, promise_id=event.promise_id, client=client, account_ref=event.account_ref,
                                   amount=event.amount, due_date=event.due_date, made_at=event.made_at,
                                   source=event.source)
        return
    result, decided_at = (("kept", event.kept_at) if isinstance(event, PromiseKept)
                          else ("broken", event.broken_at) if isinstance(event, PromiseBroken)
                          else ("cancelled", event.cancelled_at))
    await store.record_promise(s, promise_id=event.promise_id, client=client, account_ref=event.account_ref,
                               result=result, decided_at=decided_at)


async def on_arrangement(event: ArrangementMade | ArrangementKept | ArrangementBroken, ctx: HandlerContext) -> None:
    s, client = ctx.session, ctx.envelope.client
    if isinstance(event, ArrangementMade):
        await store.record_arrangement(s, arrangement_id=event.arrangement_id, client=client,
                                       account_ref=event.account_ref, kind=event.kind,
                                       total_amount=event.total_amount, instalments=len(event.instalments),
                                       source=event.source, made_at=event.made_at)
        return
    result, decided_at = ("kept", event.kept_at) if isinstance(event, ArrangementKept) else ("broken", event.broken_at)
    await store.record_arrangement(s, arrangement_id=event.arrangement_id, client=client,
                                   account_ref=event.account_ref, result=result, decided_at=decided_at)


def commission_rates_etag(rates: dict[str, Decimal], default: Decimal | None) -> str:
    """The ETag of a client company's commission rates as read (a change may send it back as If-Match)."""
    return etag_of({bucket: rate.normalize() for bucket, rate in rates.items()},
                   None if default is None else default.normalize())


async def set_commission_rates(db: Database, *, client: str, rates: dict[str, Decimal], default: Decimal | None,
                               now: dt.datetime, if_match: IfMatch | None = None) -> None:
    """An operator replaces the agency's commission rates for the client company (`default` for any bucket not
    named); refused whole when a rate is not a fraction of a named bucket, or (412) when If-Match names rates that
    changed since they were read: checked with the client company's copy held, so two writers take turns."""
    check_commission_rates(rates)
    async with db.transaction() as s:
        if if_match is not None:
            await commission_store.lock_client(s, client)
            check_if_match(if_match, commission_rates_etag(*await commission_store.commission_rates(s, client)),
                           "the commission rates")
        await commission_store.put_commission_rates(s, client, rates, default, now)
