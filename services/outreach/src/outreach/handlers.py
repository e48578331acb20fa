"""Outreach's handlers: accounts and treatments in -> dated attempts; the scheduler decides each attempt under
the contact law and sends or reschedules it; receipts, replies, contacts logged by agents, consent and holds."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.domain import cadence
from outreach.domain.contact_law import ContactDecision, ContactRequest, PastContact, decide_contact, stricter_rules
from outreach.domain.offers import Offer, offers
from outreach.domain.replies import is_opt_out
from outreach.domain.templates import Rendered, Template, TemplateError, default_template, offer_text
from outreach.domain.timezones import debtor_zone
from outreach.providers import PROVIDER_COSTS, Receipt, SandboxGateway
from outreach.rendering import render_message
from outreach.sending import store as sending_store
from outreach.settings import OutreachSettings
from recaudo_common.accounts import account_status
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.clock import local_today
from recaudo_common.db import Database
from recaudo_common.errors import ProblemError, conflict, not_found
from recaudo_common.events import (
    AccountLegalHoldLifted,
    AccountLegalHoldSet,
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    AccountSettled,
    AccountUpdated,
    ArrangementDeclined,
    ArrangementMade,
    ArrangementRequested,
    ContactAttempted,
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    ContactOptedOut,
    Instalment,
    PaymentApplied,
    PaymentReversed,
    PromiseMade,
)
from recaudo_common.outbox import Outbox
from recaudo_common.payment_links import make_token, read_token
from recaudo_common.promises import latest_promise_date, within_promise_window

outbox = Outbox(store.SCHEMA)
log = logging.getLogger("recaudo.outreach")
CONVERSATIONS = frozenset({"right_party", "promise_to_pay", "refused"})
PHONE_CHANNELS = frozenset({"sms", "whatsapp", "voice", "agent"})


# ------------------------------------------------------------------ the compliance question, asked of one row

def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def contact_request(row: dict[str, Any], channel: str, at: dt.datetime,
                    earlier_in_batch: tuple[PastContact, ...] = ()) -> ContactRequest:
    """The engine's question for a context row of store.contact_context / claim_due / agent_candidates; contacts
    decided earlier in the same batch count too (the row's history was read before them)."""
    history = tuple(PastContact(dt.datetime.fromisoformat(h["at"]), h["channel"], bool(h["conversation"]),
                                h["account_ref"]) for h in _json(row["history"])) + earlier_in_batch
    return ContactRequest(
        country=row["country"], timezone=debtor_zone(row["country"], row["region"], row["timezone"]),
        channel=channel, at=at,
        authorised_channels=tuple(row["authorised_channels"] or row["default_authorised_channels"]),
        history=history, opted_out=frozenset(row["opted_out"]), do_not_contact=row["do_not_contact"],
        account_status=row["account_status"], legal_hold=row["legal_hold"],
        rules=stricter_rules(row["country"], _json(row["client_rules"])), account_ref=row["account_ref"])


def recipient_of(row: dict[str, Any], channel: str) -> str | None:
    if channel in PHONE_CHANNELS:
        return row["phones"][0] if row["phones"] else None
    if channel == "email":
        return row["email"] or None
    return row.get("address") or None  # letter


def _trail(row: dict[str, Any], at: dt.datetime, kind: str, *, attempt_id: uuid.UUID | None = None,
           channel: str | None = None, **detail: Any) -> dict[str, Any]:
    return {"client": row["client_slug"], "account_ref": row["account_ref"], "at": at, "kind": kind,
            "attempt_id": attempt_id, "channel": channel, "detail": detail}


def _decision_detail(d: ContactDecision) -> dict[str, Any]:
    return {"allowed": d.allowed, "reasons": list(d.reasons), "local_time": d.local_time.isoformat(),
            "next_allowed_at": d.next_allowed_at.isoformat() if d.next_allowed_at else None}


# ------------------------------------------------------------------ messages: template, link, rendering

@dataclass
class Renderer:
    """Renders an attempt's message with the client's own template where it has one (cached per batch)."""

    s: AsyncSession
    settings: OutreachSettings
    now: dt.datetime
    cache: dict[tuple[str, str, str], Template] | None = None

    async def template(self, client: str, channel: str, locale: str) -> Template:
        self.cache = self.cache if self.cache is not None else {}
        key = (client, channel, locale)
        if key not in self.cache:
            own = await store.get_template(self.s, client, channel, locale)
            self.cache[key] = (Template(channel, locale, own["subject"], own["body"]) if own
                               else default_template(channel, locale))
        return self.cache[key]

    def link(self, client: str, account_ref: str) -> tuple[str, dt.datetime]:
        expires = self.now + dt.timedelta(days=self.settings.link_ttl_days)
        token = make_token(client=client, account_ref=account_ref, expires_at=expires,
                           secret=self.settings.link_secret)
        return f"{self.settings.public_url.rstrip('/')}/pay/{token}", expires

    async def render(self, row: dict[str, Any], channel: str, *, default: bool = False) -> Rendered:
        """Off the event loop and within the render budget; raises TemplateError (TemplateTooExpensive) when the
        client's template fails on this account, and the caller fails that message only."""
        locale = row["locale"]
        template = (default_template(channel, locale) if default
                    else await self.template(row["client_slug"], channel, locale))
        link, expires = self.link(row["client_slug"], row["account_ref"])
        balance = Decimal(row["balance"])
        rules = stricter_rules(row["country"], _json(row["client_rules"]))
        return await render_message(
            template, self.settings, creditor=row["creditor"], debtor_name=first_name(row["full_name"]),
            account_ref=row["account_ref"], balance=balance, currency=row["currency"],
            days_past_due=row["days_past_due"] or 0,
            offer=offer_text(row["offer"], row["offer_discount_pct"], balance, row["currency"], locale),
            payment_link=link, link_expires=expires.date(), opt_out_required=rules.opt_out_line)


async def fail_unrendered(s: AsyncSession, row: dict[str, Any], error: TemplateError, *, now: dt.datetime) -> None:
    """A due attempt whose message the client's template cannot render (over its budget on this account's data,
    or failing): that attempt fails with the reason, which holds none of the account's values."""
    reason = f"{error.code}: {error.reason}"
    log.warning("template failed at send", extra={"fields": {"client": row["client_slug"],
                                                             "channel": row["channel"], "code": error.code}})
    if await store.fail_unsent(s, row["id"], now, reason):
        await store.trail(s, [_trail(row, now, "failed", attempt_id=row["id"], channel=row["channel"],
                                     reason=reason)])
        await outbox.add(s, [ContactFailed(attempt_id=row["id"], account_ref=row["account_ref"],
                                           channel=row["channel"], failed_at=now, reason=reason).envelope(
            client=row["client_slug"], occurred_at=now)])


def first_name(full_name: str) -> str:
    parts = full_name.split()
    return parts[0].capitalize() if parts else ""


# ------------------------------------------------------------------ consumers

async def plan_ready(s: AsyncSession, keys: list[tuple[str, str]], now: dt.datetime) -> None:
    """Turns the latest treatment of each of these accounts into dated attempts, once both it and the account
    are known here; set-based, a few statements for any number of accounts."""
    pending = await store.plan_pending(s, keys)
    trail: list[dict[str, Any]] = []
    planned: list[tuple[str, str, uuid.UUID, int, str, dt.datetime]] = []
    treatments: dict[tuple[str, str], str] = {}
    for (client, account_ref), (treatment, account) in pending.items():
        if account["status"] != "open":
            continue
        # A channel with no phone, email or address on file can never be sent: it is not planned at all.
        reachable = [c for c in treatment["channels"] if recipient_of(account, c)]
        if treatment["channels"] and not reachable:
            trail.append({"client": client, "account_ref": account_ref, "at": now, "kind": "not_planned",
                          "detail": {"treatment": treatment["treatment"], "reason": "no contact data on file"}})
        treatments[(client, account_ref)] = treatment["treatment"]
        planned += [(client, account_ref, treatment["plan_id"], p.sequence, p.channel, p.at)
                    for p in cadence.plan(reachable, treatment["cadence_days"], now)]
    created = await store.schedule_attempts_many(s, planned, now)
    await store.trail(s, trail + [
        {"client": a["client_slug"], "account_ref": a["account_ref"], "at": now, "kind": "scheduled",
         "attempt_id": a["id"], "channel": a["channel"],
         "detail": {"treatment": treatments[(a["client_slug"], a["account_ref"])], "sequence": a["sequence"],
                    "scheduled_at": a["scheduled_at"].isoformat()}} for a in created])


async def on_account_stated(event: AccountPlaced | AccountUpdated, ctx: HandlerContext) -> None:
    await on_accounts_stated([(event, ctx)])


async def on_accounts_stated(events: list[tuple[AccountPlaced | AccountUpdated, HandlerContext]]) -> None:
    """Contact data from placements and restatements, then the plans that were waiting for it."""
    s, now = events[0][1].session, events[0][1].now
    await store.upsert_accounts(s, [
        {"client": ctx.envelope.client, "account_ref": e.account_ref, "debtor_id": e.debtor_id,
         "full_name": e.full_name, "phones": list(e.phones), "email": e.email, "region": e.region,
         "address": ", ".join(p for p in (e.address, e.city, e.region) if p) or None, "balance": e.balance,
         "currency": e.currency, "channels": list(e.authorised_channels)} for e, ctx in events], now)
    await plan_ready(s, [(ctx.envelope.client, e.account_ref) for e, ctx in events], now)


async def on_segmented(event: AccountSegmented, ctx: HandlerContext) -> None:
    await on_segmented_many([(event, ctx)])


async def on_segmented_many(events: list[tuple[AccountSegmented, HandlerContext]]) -> None:
    """A new treatment replaces the old one's attempts that have not gone out yet."""
    s, now = events[0][1].session, events[0][1].now
    newer = await store.save_treatments(s, [
        {"client": ctx.envelope.client, "account_ref": e.account_ref, "plan_id": ctx.envelope.event_id,
         "segment": e.segment, "treatment": e.treatment, "channels": list(e.channels), "cadence_days": e.cadence_days,
         "offer": e.offer, "offer_discount_pct": e.offer_discount_pct,
         "expected_net_recovery": e.expected_net_recovery, "propensity": e.propensity,
         "days_past_due": e.days_past_due, "strategy_arm": e.strategy_arm, "decided_at": ctx.envelope.occurred_at}
        for e, ctx in events])
    changed = [(ctx.envelope.client, e.account_ref, f"replaced by treatment {e.treatment}") for e, ctx in events
               if (ctx.envelope.client, e.account_ref) in newer]
    cancelled = await store.cancel_scheduled_many(s, changed)
    await store.trail(s, [
        {"client": a["client_slug"], "account_ref": a["account_ref"], "at": now, "kind": "cancelled",
         "attempt_id": a["id"], "channel": a["channel"], "detail": {"reason": "treatment changed"}}
        for a in cancelled])
    await plan_ready(s, [(client, account_ref) for client, account_ref, _ in changed], now)


async def _stop(ctx: HandlerContext, account_ref: str, status: str, balance: Decimal | None = None) -> None:
    client = ctx.envelope.client
    await store.set_status(ctx.session, client, account_ref, status=status, balance=balance,
                           as_of=ctx.envelope.occurred_at)
    if status != "open":
        cancelled = await store.cancel_scheduled(ctx.session, client, account_ref, f"account {status}")
        await store.trail(ctx.session, [
            {"client": client, "account_ref": account_ref, "at": ctx.now, "kind": "cancelled", "attempt_id": a["id"],
             "channel": a["channel"], "detail": {"reason": f"account {status}"}} for a in cancelled])


async def on_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await _stop(ctx, event.account_ref, "recalled")


async def on_settled(event: AccountSettled, ctx: HandlerContext) -> None:
    await _stop(ctx, event.account_ref, "settled")


async def on_payment(event: PaymentApplied | PaymentReversed, ctx: HandlerContext) -> None:
    """The ledger's status, except that a recalled account stays recalled (a debtor may still pay after it)."""
    recalled = await store.status_of(ctx.session, ctx.envelope.client, event.account_ref) == "recalled"
    await _stop(ctx, event.account_ref, account_status(event.account_status, recalled=recalled), event.new_balance)


async def on_arrangement_answer(event: ArrangementMade | ArrangementDeclined, ctx: HandlerContext) -> None:
    """The debtor page's arrangement requests are answered by payments; the answer joins the audit trail."""
    row = {"client_slug": ctx.envelope.client, "account_ref": event.account_ref}
    if isinstance(event, ArrangementMade):
        if event.source == "debtor_page":
            await store.trail(ctx.session, [_trail(row, ctx.now, "arrangement_made", arrangement_kind=event.kind,
                                                   total_amount=str(event.total_amount))])
    else:
        await store.trail(ctx.session, [_trail(row, ctx.now, "arrangement_declined", reason=event.reason)])


# ------------------------------------------------------------------ the scheduler's housekeeping

async def expire_early_receipts(db: Database, settings: OutreachSettings, *, now: dt.datetime) -> int:
    """The retention of early receipts: those no send claimed within the retention are discarded (counted in
    the log; they hold no personal data beyond a provider's message id)."""
    async with db.transaction() as s:
        expired = await store.expire_early_receipts(s, now - dt.timedelta(hours=settings.early_receipt_retention_h))
    if expired:
        log.warning("early receipts expired unclaimed", extra={"fields": {"count": expired}})
    return expired


# ------------------------------------------------------------------ receipts and replies

async def apply_receipts(db: Database, provider: str, receipts: list[Receipt], *, now: dt.datetime) -> dict[str, int]:
    """Delivery receipts update their attempt; replies are kept, and STOP/BAJA/NO MAS opts the debtor out of
    that channel at that client company. Each receipt applies at most once."""
    counts = {"applied": 0, "duplicate": 0, "unknown": 0}
    for r in receipts:
        async with db.transaction() as s:
            counts[await _apply_receipt(s, provider, r, now)] += 1
    return counts


async def _apply_receipt(s: AsyncSession, provider: str, r: Receipt, now: dt.datetime) -> str:
    if r.status == "reply":
        channel = r.reply_channel or "sms"
        answered = await store.latest_attempt_to(s, channel, r.reply_from or "")
        opt_out = is_opt_out(r.detail or "")
        if not await store.save_reply(s, provider=provider, provider_message_id=r.message_id,
                                      attempt_id=answered["id"] if answered else None, channel=channel,
                                      body=r.detail or "", opt_out=opt_out, at=now):
            return "duplicate"
        if answered is None:
            return "unknown"
        await store.trail(s, [_trail(answered, now, "reply", attempt_id=answered["id"], channel=channel,
                                     opt_out=opt_out)])
        if opt_out:
            await opt_out_debtor(s, answered["client_slug"], answered["debtor_id"], channel, source="reply", now=now)
        return "applied"
    attempt = await store.attempt_by_provider_id(s, provider, r.message_id)
    if attempt is None and r.attempt_id is not None:
        attempt = await _confirmed_by_callback(s, provider, r, now)
    if attempt is None:
        # The provider may call back before the send's own transaction commits the message id: keep the
        # receipt; the send applies it when it records the id.
        await store.keep_early_receipt(s, provider, r.message_id, r.status, r.detail, now)
        return "unknown"
    if r.status == "delivered" and await store.mark_delivered(s, attempt["id"], now):
        await store.trail(s, [_trail(attempt, now, "delivered", attempt_id=attempt["id"], channel=attempt["channel"])])
        await outbox.add(s, [ContactDelivered(attempt_id=attempt["id"], account_ref=attempt["account_ref"],
                                              channel=attempt["channel"], delivered_at=now).envelope(
            client=attempt["client_slug"], occurred_at=now)])
        return "applied"
    if r.status == "failed" and await store.mark_failed(s, attempt["id"], now, r.detail or "failed"):
        await store.trail(s, [_trail(attempt, now, "failed", attempt_id=attempt["id"], channel=attempt["channel"],
                                     reason=r.detail)])
        await outbox.add(s, [ContactFailed(attempt_id=attempt["id"], account_ref=attempt["account_ref"],
                                           channel=attempt["channel"], failed_at=now,
                                           reason=r.detail or "failed").envelope(
            client=attempt["client_slug"], occurred_at=now)])
        return "applied"
    return "duplicate"


async def _confirmed_by_callback(s: AsyncSession, provider: str, r: Receipt, now: dt.datetime
                                 ) -> dict[str, Any] | None:
    """A status callback names its attempt (the callback URL carries the id): a send in doubt (its answer lost,
    or its replica dead before recording it) is confirmed by the provider's own word, never sent again."""
    assert r.attempt_id is not None
    attempt = await sending_store.confirm_from_callback(s, provider, r.attempt_id, r.message_id, now)
    if attempt is None:
        return None
    await store.trail(s, [_trail(attempt, now, "sent", attempt_id=attempt["id"], channel=attempt["channel"],
                                 provider=provider, provider_message_id=r.message_id,
                                 reconciled="status callback")])
    await outbox.add(s, [ContactAttempted(
        attempt_id=attempt["id"], account_ref=attempt["account_ref"], channel=attempt["channel"], provider=provider,
        attempted_at=now, cost=PROVIDER_COSTS.get(provider, Decimal("0")) * (attempt["segments"] or 1),
        template=attempt["template"] or "").envelope(client=attempt["client_slug"], occurred_at=now)])
    return attempt


async def opt_out_debtor(s: AsyncSession, client: str, debtor_id: str, channel: str, *, source: str,
                         now: dt.datetime) -> None:
    """Opts a debtor out of a channel (or "all": do-not-contact) on every account at the client company."""
    if channel != "all" and not await store.add_opt_out(s, client=client, debtor_id=debtor_id, channel=channel,
                                                        at=now, source=source):
        return
    cancelled = await store.cancel_scheduled_for_debtor(s, client, debtor_id, None if channel == "all" else channel,
                                                        "opted out" if channel != "all" else "do not contact")
    refs = await store.accounts_of_debtor(s, client, debtor_id)
    await store.trail(s, [{"client": client, "account_ref": ref, "at": now, "kind": "opted_out", "channel": channel,
                           "detail": {"source": source}} for ref in refs] + [
        {"client": client, "account_ref": a["account_ref"], "at": now, "kind": "cancelled", "attempt_id": a["id"],
         "channel": a["channel"], "detail": {"reason": source}} for a in cancelled])
    await outbox.add(s, [ContactOptedOut(account_ref=ref, channel=channel, opted_out_at=now,
                                         source=source).envelope(client=client, occurred_at=now) for ref in refs])


# ------------------------------------------------------------------ operators and agents

async def check(db: Database, *, client: str, account_ref: str, channel: str, at: dt.datetime) -> ContactDecision:
    async with db.transaction() as s:
        row = await store.contact_context(s, client, account_ref, at)
    if row is None:
        raise not_found(f"account {account_ref!r}")
    return decide_contact(contact_request(row, channel, at))


async def log_contact(db: Database, *, client: str, account_ref: str, channel: str, at: dt.datetime, outcome: str,
                      promise: tuple[Decimal, dt.date] | None, attempt_id: uuid.UUID | None, by: uuid.UUID,
                      now: dt.datetime) -> dict[str, Any]:
    """A contact an agent made outside Recaudo (or the outcome of a call Recaudo handed out): counted by the
    engine from now on, flagged with the rules it broke, its promise emitted as promise.made."""
    if at > now + dt.timedelta(minutes=5):
        raise ProblemError(422, "contact_in_future", "Invalid contact", "a contact is logged after it happens")
    if (outcome == "promise_to_pay") != (promise is not None):
        raise ProblemError(422, "promise_mismatch", "Invalid contact",
                           "outcome promise_to_pay needs a promise, and only it may carry one")
    async with db.transaction() as s:
        row = await store.contact_context(s, client, account_ref, at)
        if row is None:
            raise not_found(f"account {account_ref!r}")
        if promise is not None:
            contact_day, window = local_today(row["timezone"], at), row["promise_window_days"]
            if promise[0] <= 0 or promise[0] > Decimal(row["balance"]):
                raise ProblemError(422, "invalid_promise", "Invalid promise",
                                   "the promised amount must be positive and at most the balance")
            if not within_promise_window(promise[1], today=contact_day, window_days=window):
                raise ProblemError(422, "invalid_promise", "Invalid promise",
                                   f"the promise is due from the day of the contact ({contact_day}) to "
                                   f"{latest_promise_date(contact_day, window)}")
        conversation = outcome in CONVERSATIONS and channel in {"voice", "agent"}
        assigned = attempt_id is not None and await store.attach_outcome(
            s, attempt_id=attempt_id, client=client, account_ref=account_ref, outcome=outcome,
            conversation=conversation)
        if attempt_id is not None and not assigned:
            raise not_found(f"assigned call {attempt_id}")
        violations = () if assigned else decide_contact(contact_request(row, channel, at)).reasons
        contact_id = attempt_id if assigned and attempt_id else await store.add_contact(
            s, client=client, debtor_id=row["debtor_id"], account_ref=account_ref, channel=channel, at=at,
            source="logged", outcome=outcome, conversation=conversation, rule_violations=list(violations),
            logged_by=by)
        promise_id = uuid.uuid4() if promise else None
        await store.trail(s, [_trail(row, now, "logged", attempt_id=attempt_id, channel=channel, outcome=outcome,
                                     contacted_at=at.isoformat(), rule_violations=list(violations),
                                     promise_id=str(promise_id) if promise_id else None)])
        events = [ContactLogged(contact_id=contact_id, account_ref=account_ref, channel=channel,
                                contacted_at=at, outcome=outcome,
                                rule_violations=list(violations)).envelope(client=client, occurred_at=now)]
        if promise is not None and promise_id is not None:
            events.append(PromiseMade(promise_id=promise_id, account_ref=account_ref, amount=promise[0],
                                      due_date=promise[1], source="agent", made_at=at).envelope(
                client=client, occurred_at=now))
        await outbox.add(s, events)
    return {"id": contact_id, "rule_violations": list(violations), "promise_id": promise_id}


async def next_for_agent(db: Database, settings: OutreachSettings, *, client: str, now: dt.datetime
                         ) -> dict[str, Any] | None:
    """The due agent call with the highest expected net recovery that the law allows now; the ones it does not
    allow are moved to their next allowed instant on the way."""
    async with db.transaction() as s:
        candidates = await store.agent_candidates(s, client, now, 25)
        trail: list[dict[str, Any]] = []
        chosen = None
        for a in candidates:
            decision = decide_contact(contact_request(a, "agent", now))  # stops at the first allowed: no batch
            if not decision.allowed:
                await store.record_decision(s, attempt_id=a["id"], now=now, local_time=decision.local_time.isoformat(),
                                            allowed=False, reasons=list(decision.reasons),
                                            next_allowed_at=decision.next_allowed_at)
                if decision.next_allowed_at:
                    await store.reschedule(s, a["id"], decision.next_allowed_at)
                else:
                    await store.cancel_attempt(s, a["id"], "blocked: " + ", ".join(decision.reasons))
                trail.append(_trail(a, now, "decision", attempt_id=a["id"], channel="agent",
                                    **_decision_detail(decision)))
                continue
            await store.record_decision(s, attempt_id=a["id"], now=now, local_time=decision.local_time.isoformat(),
                                        allowed=True, reasons=[], next_allowed_at=None)
            await store.mark_assigned(s, a["id"], now)
            await store.add_contact(s, client=client, debtor_id=a["debtor_id"], account_ref=a["account_ref"],
                                    channel="agent", at=now, source="attempt", attempt_id=a["id"])
            trail.append(_trail(a, now, "decision", attempt_id=a["id"], channel="agent", **_decision_detail(decision)))
            trail.append(_trail(a, now, "assigned", attempt_id=a["id"], channel="agent"))
            try:
                rendered = await Renderer(s, settings, now).render(a, "agent")
            except TemplateError:  # the client's script fails on this account: the agent gets the default one
                rendered = await Renderer(s, settings, now).render(a, "agent", default=True)
            await outbox.add(s, [ContactAttempted(attempt_id=a["id"], account_ref=a["account_ref"], channel="agent",
                                                  provider="agent", attempted_at=now, cost=Decimal("0"),
                                                  template=f"agent/{a['locale']}").envelope(client=client,
                                                                                            occurred_at=now)])
            chosen = {**a, "script": rendered.body, "attempt_id": a["id"]}
            break
        await store.trail(s, trail)
    return chosen


async def set_legal_hold(db: Database, *, client: str, account_ref: str, hold: str, note: str | None,
                         by: uuid.UUID, now: dt.datetime) -> bool:
    async with db.transaction() as s:
        if await store.get_account(s, client, account_ref) is None:
            raise not_found(f"account {account_ref!r}")
        if not await store.set_legal_hold(s, client=client, account_ref=account_ref, hold=hold, note=note, at=now,
                                          by=by):
            return False
        cancelled = await store.cancel_scheduled(s, client, account_ref, f"legal hold: {hold}")
        row = {"client_slug": client, "account_ref": account_ref}
        await store.trail(s, [_trail(row, now, "legal_hold_set", hold=hold)] + [
            _trail(row, now, "cancelled", attempt_id=a["id"], channel=a["channel"], reason=f"legal hold: {hold}")
            for a in cancelled])
        await outbox.add(s, [AccountLegalHoldSet(account_ref=account_ref, hold=hold,
                                                 set_at=now).envelope(client=client, occurred_at=now)])
    return True


async def lift_legal_hold(db: Database, *, client: str, account_ref: str, hold: str, by: uuid.UUID,
                          now: dt.datetime) -> None:
    async with db.transaction() as s:
        if not await store.lift_legal_hold(s, client=client, account_ref=account_ref, hold=hold, at=now, by=by):
            raise not_found(f"active {hold} hold on {account_ref!r}")
        await store.trail(s, [_trail({"client_slug": client, "account_ref": account_ref}, now, "legal_hold_lifted",
                                     hold=hold)])
        # Segmentation re-decides the treatment on this event; its new plan brings contact back.
        await outbox.add(s, [AccountLegalHoldLifted(account_ref=account_ref, hold=hold,
                                                    lifted_at=now).envelope(client=client, occurred_at=now)])


async def add_do_not_contact(db: Database, *, client: str, debtor_id: str, reason: str, by: uuid.UUID,
                             now: dt.datetime) -> list[str]:
    async with db.transaction() as s:
        refs = await store.accounts_of_debtor(s, client, debtor_id)
        if await store.add_do_not_contact(s, client=client, debtor_id=debtor_id, reason=reason, at=now, by=by):
            await opt_out_debtor(s, client, debtor_id, "all", source="do_not_contact", now=now)
        else:
            raise conflict("already_listed", "the debtor is already on the do-not-contact list")
    return refs


# ------------------------------------------------------------------ the debtor page

@dataclass(frozen=True)
class DebtorView:
    token: str
    client: str
    account_ref: str
    expires_at: dt.datetime
    row: dict[str, Any]


async def debtor_view(db: Database, settings: OutreachSettings, token: str, now: dt.datetime) -> DebtorView | None:
    """The account behind a payment link, or None when the link is forged, expired or unknown."""
    target = read_token(token, secret=settings.link_secret, now=now)
    if target is None:
        return None
    async with db.transaction() as s:
        row = await store.contact_context(s, target.client, target.account_ref, now)
    if row is None:
        return None
    return DebtorView(token, target.client, target.account_ref, target.expires_at, row)


async def debtor_promise(db: Database, view: DebtorView, *, amount: Decimal, due_date: dt.date, today: dt.date,
                         now: dt.datetime) -> uuid.UUID:
    if not 0 < amount <= Decimal(view.row["balance"]):
        raise ProblemError(422, "invalid_promise", "Invalid promise", "el valor debe ser positivo y no mayor al saldo")
    window = view.row["promise_window_days"]
    if not within_promise_window(due_date, today=today, window_days=window):
        raise ProblemError(422, "invalid_promise", "Invalid promise",
                           f"la fecha debe estar entre hoy y los próximos {window} días "
                           f"(a más tardar el {latest_promise_date(today, window).isoformat()})")
    promise_id = uuid.uuid4()
    async with db.transaction() as s:
        await store.trail(s, [_trail(view.row, now, "page_promise", promise_id=str(promise_id), amount=str(amount),
                                     due_date=due_date.isoformat())])
        await outbox.add(s, [PromiseMade(promise_id=promise_id, account_ref=view.account_ref, amount=amount,
                                         due_date=due_date, source="debtor_page", made_at=now).envelope(
            client=view.client, occurred_at=now)])
    return promise_id


async def debtor_arrangement(db: Database, view: DebtorView, *, kind: str, today: dt.date,
                             now: dt.datetime) -> Offer:
    available = {o.kind: o for o in offers(view.row["offer"], view.row["offer_discount_pct"],
                                           Decimal(view.row["balance"]), today)}
    if kind not in available:
        raise ProblemError(422, "offer_not_available", "Offer not available", "esta oferta ya no está disponible")
    offer = available[kind]
    request_id = uuid.uuid4()
    async with db.transaction() as s:
        await store.trail(s, [_trail(view.row, now, "page_arrangement_requested", request_id=str(request_id),
                                     arrangement_kind=kind, total=str(offer.total))])
        await outbox.add(s, [ArrangementRequested(
            request_id=request_id, account_ref=view.account_ref, kind=kind,
            instalments=[Instalment(due_date=d, amount=a) for d, a in offer.instalments],
            requested_at=now).envelope(client=view.client, occurred_at=now)])
    return offer


async def debtor_pay(db: Database, gateway: SandboxGateway, view: DebtorView, *, amount: Decimal, nonce: str,
                     now: dt.datetime) -> str:
    """Pays through the sandbox gateway, which notifies payments with a signed webhook like a real gateway;
    the form's nonce makes a double submit one payment."""
    if not 0 < amount <= Decimal(view.row["balance"]):
        raise ProblemError(422, "invalid_amount", "Invalid amount", "el valor debe ser positivo y no mayor al saldo")
    payment_id = f"sbx-{uuid.uuid5(uuid.NAMESPACE_URL, f'{view.token}:{nonce}')}"
    status = await gateway.charge(payment_id=payment_id, client=view.client, link_token=view.token, amount=amount,
                                  currency=view.row["currency"], now=now)
    async with db.transaction() as s:
        await store.trail(s, [_trail(view.row, now, "page_payment", payment_id=payment_id, amount=str(amount),
                                     gateway_status=status)])
    return status
