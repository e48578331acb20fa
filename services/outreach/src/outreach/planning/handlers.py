"""Planning: placements and restatements bring an account's contact data, segmentation's treatment becomes
dated attempts on its cadence, and whatever closes an account (a recall, a settlement, the payment that pays
it off, a write-off) stops the attempts not sent yet."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.best_time.handlers import Debtor, Slots
from outreach.confirmations import CLOSED_BY_PAYMENT
from outreach.consent.handlers import ClientFile, record_client_files
from outreach.debtors import recipient
from outreach.domain import cadence, consent
from outreach.domain.client_rules import RulesOverride
from outreach.personal import NOBODY, Contact, contacts_of
from outreach.planning import schedule
from outreach.planning import store as planning
from outreach.store import TrailEntry
from outreach.withdrawals import NOT_PURSUED, withdraw_handed_out
from recaudo_common.accounts import account_status
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import (
    AccountContactRectified,
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    AccountSegmentedV2,
    AccountSettled,
    AccountUpdated,
    PaymentAdjusted,
    PaymentApplied,
    PaymentReversed,
    PaymentWriteOffReversed,
    PaymentWrittenOff,
)
from recaudo_common.personal_data import Vault


async def plan_ready(s: AsyncSession, keys: list[tuple[str, str]], now: dt.datetime, *, marked: bool = False
                     ) -> None:
    """Turns the latest treatment of each of these accounts into dated attempts, once both it and the account
    are known here; set-based, a few statements for any number of accounts. `marked`: treatments just kept and
    marked planned (planning.plan_pending)."""
    trail: list[TrailEntry] = []
    planned: list[schedule.Planned] = []
    unreachable: list[tuple[uuid.UUID, str]] = []
    pending = await planning.plan_pending(s, keys, marked=marked)
    if not pending:  # a placement's batch whose treatments have not come yet: nothing to read for it
        return
    slots = await Slots.read(s, {(p.client, p.segment) for p in pending})
    for p in pending:
        if p.account_status != "open":
            continue
        # A channel the debtor withdrew, or with no phone, email or address on file, can never be sent: it is not
        # planned at all, and the trail says why.
        allowed = consent.not_withdrawn(p.channels, opted_out=p.opted_out, do_not_contact=p.do_not_contact)
        trail += [TrailEntry(p.client, p.account_ref, now, "not_planned", channel=c,
                             detail={"treatment": p.treatment,
                                     "reason": "do not contact" if p.do_not_contact else "opted out"})
                  for c in p.channels if c not in allowed]
        reachable = [c for c in allowed if recipient(c, phones=p.phones, email=p.email, address=p.address)]
        if allowed and not reachable:
            trail.append(TrailEntry(p.client, p.account_ref, now, "not_planned",
                                    detail={"treatment": p.treatment, "reason": "no contact data on file"}))
        # A kept plan's attempts to come on a channel withdrawn or without a contact point since go, as a new
        # plan would leave them out; the others stay as they are, and the plan is topped up after them.
        withdrawn = "do not contact" if p.do_not_contact else "opted out"
        unreachable += [(a.attempt_id, withdrawn if a.channel not in allowed else "no contact data on file")
                        for a in p.to_come if a.channel not in reachable]
        to_come = [a for a in p.to_come if a.channel in reachable]
        start = cadence.first_touch(now, p.cadence_days, last_touch_at=p.last_touch_at, last_paid_at=p.last_paid_at,
                                    last_to_come_at=max((a.at for a in to_come), default=None))
        planned += _in_best_slots(slots, p, cadence.plan(reachable, p.cadence_days, start,
                                                         after_sequence=p.last_sequence, to_come=len(to_come)))
    cancelled = await planning.cancel_attempts(s, unreachable)
    reasons = dict(unreachable)
    trail += [TrailEntry(a.client, a.account_ref, now, "cancelled", a.attempt_id, a.channel,
                         {"reason": reasons[a.attempt_id]}) for a in cancelled]
    await store.trail(s, trail)
    # Each attempt's `scheduled` entry follows these in the trail, written by the statement that schedules it.
    await schedule.schedule_attempts_many(s, planned, now)


FIRST_SLOT_WHY = "first_slot: experimento de mejor horario (grupo de control, primer horario permitido)"


def _in_best_slots(slots: Slots, p: planning.PlanToMake, attempts: list[cadence.PlannedAttempt]
                   ) -> list[schedule.Planned]:
    """Each attempt in its best-time slot within the cadence's spacing, or where the cadence put it; an account in
    the first_slot arm of its client company's best-time experiment keeps the cadence's first allowed slots. The
    account's arm, where its debtor is and the spacing are worked out once for all its attempts (for each attempt,
    they cost outreach a few per cent of its CPU in the pipeline, #24)."""
    if not attempts:
        return []
    arm = slots.arm(p.client, p.account_ref)
    if arm == "first_slot":
        return [schedule.Planned(p.client, p.account_ref, p.plan_id, d.sequence, d.channel, d.at, FIRST_SLOT_WHY,
                                 arm, p.correlation_id, p.treatment) for d in attempts]
    debtor = (Debtor(p.client, p.segment, p.country, p.region, p.client_zone,
                     RulesOverride.from_document(p.client_rules)) if p.country and p.client_zone else None)
    horizon = cadence.spacing(p.cadence_days)
    planned: list[schedule.Planned] = []
    for d in attempts:
        choice = None if debtor is None else slots.place(debtor, d.channel, d.at, horizon)
        if choice is None or choice.window is None:
            planned.append(schedule.Planned(p.client, p.account_ref, p.plan_id, d.sequence, d.channel, d.at,
                                            arm=arm, correlation_id=p.correlation_id, treatment=p.treatment))
        else:
            planned.append(schedule.Planned(p.client, p.account_ref, p.plan_id, d.sequence, d.channel, choice.at,
                                            choice.window.reason, arm, p.correlation_id, p.treatment))
    return planned


async def on_accounts_stated(events: list[tuple[AccountPlaced | AccountUpdated, HandlerContext]], *,
                             vault: Vault) -> None:
    """Contact data from placements and restatements (their sealed personal data opened with the vault; a person
    erased is kept as nobody, with no contact point) with the consent evidence of the channels their file
    authorises, then the plans that were waiting for it."""
    s, now = events[0][1].session, events[0][1].now
    contacts: dict[int, Contact] = {}
    for client in dict.fromkeys(ctx.envelope.client for _, ctx in events):  # personal_of_many: one client's
        mine = [i for i, (_, ctx) in enumerate(events) if ctx.envelope.client == client]
        opened = await contacts_of(vault, s, client, [events[i][0] for i in mine])
        contacts.update(zip(mine, opened, strict=True))
    await planning.upsert_accounts(s, [
        planning.StatedAccount(
            client=ctx.envelope.client, account_ref=e.account_ref, debtor_ref=e.debtor_ref, contact=contacts[i],
            city=e.city, region=e.region, balance=e.balance, currency=e.currency,
            channels=tuple(e.authorised_channels)) for i, (e, ctx) in enumerate(events)], now)
    await record_client_files(s, [ClientFile(ctx.envelope.client, e.account_ref, e.portfolio_id,
                                             tuple(e.authorised_channels)) for e, ctx in events], now)
    await plan_ready(s, [(ctx.envelope.client, e.account_ref) for e, ctx in events], now)


async def on_contact_rectified(event: AccountContactRectified, ctx: HandlerContext, *, vault: Vault) -> None:
    """The debtor's corrected contact points (rectification on their request); the audit trail records who
    corrected which fields and why, never the values. A person erased meanwhile stays without any."""
    s, client = ctx.session, ctx.envelope.client
    [contact] = await contacts_of(vault, s, client, [event])
    fields = frozenset(event.fields)
    applied = contact != NOBODY and await planning.rectify_contact(s, client, event.account_ref, contact, fields)
    if await store.account_exists(s, client, event.account_ref):
        await store.trail(s, [TrailEntry(client, event.account_ref, ctx.now, "contact_rectified", detail={
            "fields": sorted(fields), "rectified_by": event.rectified_by, "reason": event.reason,
            "rectified_at": event.rectified_at.isoformat(), "debtor_ref": str(event.debtor_ref),
            "applied": applied})])


async def on_segmented(event: AccountSegmented, ctx: HandlerContext) -> None:
    await on_segmented_many([(event, ctx)])


async def on_segmented_many(events: list[tuple[AccountSegmented, HandlerContext]]) -> None:
    """A new treatment replaces the old one's attempts that have not gone out yet; the same treatment decided
    again keeps them, and its plan is topped up to cadence.TOUCHES to come."""
    s, now = events[0][1].session, events[0][1].now
    plans = await planning.save_treatments(s, [
        planning.Treatment(
            client=ctx.envelope.client, account_ref=e.account_ref, plan_id=ctx.envelope.event_id, segment=e.segment,
            treatment=e.treatment, channels=tuple(e.channels), cadence_days=e.cadence_days, offer=e.offer,
            offer_discount_pct=e.offer_discount_pct, expected_net_recovery=e.expected_net_recovery,
            propensity=e.propensity, days_past_due=e.days_past_due, strategy_arm=e.strategy_arm,
            decided_at=ctx.envelope.occurred_at, correlation_id=ctx.envelope.correlation_id,
            dpd_as_of=e.as_of if isinstance(e, AccountSegmentedV2) else None,
            aging_held=e.aging_held if isinstance(e, AccountSegmentedV2) else None) for e, ctx in events])
    # An account's first treatment replaces nothing: asking for its attempts anyway was a probe for each account of
    # every new portfolio, which found none (#24).
    replaced = [(ctx.envelope.client, e.account_ref, f"replaced by treatment {e.treatment}") for e, ctx in events
                if (saved := plans.get((ctx.envelope.client, e.account_ref))) is not None
                and saved.plan_id == ctx.envelope.event_id and not saved.first]
    # A decision a payment caused may come before the payment itself: it says the debtor just paid. A new plan
    # starts one spacing after it (cadence.first_touch); a kept plan's attempts to come wait as the payment's own
    # event would make them wait (by whole days, keeping the hour best time chose).
    after_payment = [(ctx.envelope.client, e.account_ref, ctx.envelope.occurred_at,
                      (saved := plans.get((ctx.envelope.client, e.account_ref))) is not None
                      and saved.plan_id != ctx.envelope.event_id) for e, ctx in events if e.trigger == "payment"]
    await planning.paid(s, [(client, ref, at) for client, ref, at, _ in after_payment])
    await _defer_after_payments(s, [(client, ref, at) for client, ref, at, kept in after_payment if kept], now)
    # An account no longer to be worked (no channels: do_not_pursue) loses the agent's callback too.
    not_pursued = frozenset((ctx.envelope.client, e.account_ref) for e, ctx in events
                            if not e.channels and (ctx.envelope.client, e.account_ref) in plans)
    cancelled = await planning.cancel_scheduled_many(s, replaced, not_pursued=not_pursued)
    await store.trail(s, [TrailEntry(a.client, a.account_ref, now, "cancelled", a.attempt_id, a.channel,
                                     {"reason": "treatment changed"}) for a in cancelled])
    # And a call already handed to an agent, after the scheduled ones (withdraw_handed_out says why that order).
    await withdraw_handed_out(s, sorted(not_pursued), NOT_PURSUED, now)
    await plan_ready(s, [key for key, saved in plans.items() if saved.planned], now, marked=True)


async def _stop(s: AsyncSession, now: dt.datetime, changes: list[planning.StatusChange]) -> None:
    """The accounts' statuses kept; the attempts not sent yet of those no longer open are cancelled (a statement
    for each status), with the trail's word."""
    await planning.set_statuses(s, changes)
    closed: dict[str, list[tuple[str, str]]] = {}
    for change in changes:
        if change.status != "open":
            closed.setdefault(change.status, []).append((change.client, change.account_ref))
    for status, accounts in closed.items():
        # The confirmation of the payment that closed it still goes (confirmations.py); the collection stops.
        cancelled = await store.cancel_all_scheduled(s, accounts, f"account {status}",
                                                     keep_confirmations=status in CLOSED_BY_PAYMENT)
        await store.trail(s, [TrailEntry(a.client, a.account_ref, now, "cancelled", a.attempt_id, a.channel,
                                         {"reason": f"account {status}"}) for a in cancelled])
        # A call already handed to an agent stops too, at once (MISSION §6: a closed account always blocks).
        await withdraw_handed_out(s, accounts, f"account {status}", now)


async def on_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await on_recalls([(event, ctx)])


async def on_recalls(events: list[tuple[AccountRecalled, HandlerContext]]) -> None:
    """Accounts the client company withdrew (a recall file's, in a few statements): their attempts stop."""
    await _stop(events[0][1].session, events[0][1].now, [
        planning.StatusChange(ctx.envelope.client, e.account_ref, "recalled", None, ctx.envelope.occurred_at)
        for e, ctx in events])


async def on_settled(event: AccountSettled, ctx: HandlerContext) -> None:
    await _stop(ctx.session, ctx.now, [planning.StatusChange(ctx.envelope.client, event.account_ref, "settled",
                                                             None, ctx.envelope.occurred_at)])


MoneyEvent = PaymentApplied | PaymentReversed | PaymentWrittenOff | PaymentWriteOffReversed | PaymentAdjusted


async def on_payment(event: MoneyEvent, ctx: HandlerContext) -> None:
    await on_payments([(event, ctx)])


async def on_payments(events: list[tuple[MoneyEvent, HandlerContext]]) -> None:
    """The ledger's status, except that a recalled account stays recalled (a debtor may still pay after it). A
    written-off account is no longer contacted: its attempts not sent yet are cancelled, as a paid one's. A run of
    them (at most one per account) in a few statements, the accounts they close one by one."""
    s, now = events[0][1].session, events[0][1].now
    known = await planning.statuses_of(s, [(ctx.envelope.client, e.account_ref) for e, ctx in events])
    changes = [planning.StatusChange(
        ctx.envelope.client, e.account_ref,
        account_status(e.account_status, recalled=known.get((ctx.envelope.client, e.account_ref)) == "recalled"),
        e.new_balance, ctx.envelope.occurred_at) for e, ctx in events]
    await _stop(s, now, changes)
    # A debtor who pays is left in peace for a cadence: what was already planned waits (cadence.first_touch).
    paying = [(c.client, c.account_ref, e.paid_at) for (e, _), c in zip(events, changes, strict=True)
              if isinstance(e, PaymentApplied) and c.status == "open"]
    await planning.paid(s, paying)
    await _defer_after_payments(s, paying, now)


async def _defer_after_payments(s: AsyncSession, payments: list[tuple[str, str, dt.datetime]],
                                now: dt.datetime) -> None:
    """Each account's attempts to come moved past one spacing after its payment (planning.defer_scheduled: once
    for one payment, whichever of it and the decision it caused comes first), with the trail's word."""
    deferred = await planning.defer_scheduled(s, payments)
    await store.trail(s, [TrailEntry(a.client, a.account_ref, now, "rescheduled", a.attempt_id, a.channel,
                                     {"reason": "payment received", "scheduled_at": a.scheduled_at.isoformat()})
                          for a in deferred])
