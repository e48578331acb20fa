"""The agent desk: the call an agent should make now (the highest expected net recovery the contact law allows),
the contacts agents make outside Recaudo or the outcomes of the calls handed out, with the promises they bring,
and the payment links agents hand debtors."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

from outreach import debtor_guard, holds, store
from outreach.agent_desk import store as desk
from outreach.agent_desk.calls import current_call, withdrawn
from outreach.debtors import DebtorContext, contact_request, decide_collection, decision_detail
from outreach.domain.collection_holds import HOLD_REASONS
from outreach.domain.contact_law import violations as rules_broken
from outreach.domain.templates import TemplateError
from outreach.messages import Renderer, payment_link
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry, outbox
from outreach.unsubscribe.handlers import wrong_number
from outreach.withdrawals import handed_out_call
from recaudo_common.clock import local_today
from recaudo_common.db import Database
from recaudo_common.domain_errors import Invalid, NotFound
from recaudo_common.events import ContactAttempted, ContactLogged, Envelope, PromiseMade
from recaudo_common.money import fits_minor_units
from recaudo_common.promises import latest_promise_date, within_promise_window

CONVERSATIONS = frozenset({"right_party", "promise_to_pay", "refused"})


@dataclass(frozen=True)
class Agent:
    """Who asks for the next call: a signed-in person (their user id, and their name as the records of what people
    do give it: "user <e-mail>") or a key (its id, "key <id>")."""

    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class CallToMake:
    """The call handed to an agent: the attempt, its debtor, the script to read, and to whom and when it went."""

    attempt_id: uuid.UUID
    debtor: DebtorContext
    script: str
    assigned_to: str
    assigned_at: dt.datetime


@dataclass(frozen=True)
class LoggedContact:
    id: uuid.UUID
    rule_violations: list[str]
    promise_id: uuid.UUID | None


@dataclass(frozen=True)
class Promise:
    amount: Decimal
    due_date: dt.date


async def next_for_agent(db: Database, settings: OutreachSettings, *, client: str, agent: Agent, now: dt.datetime
                         ) -> CallToMake | None:
    """The due agent call with the highest expected net recovery that the law allows now, handed to `agent` (on
    the attempt and in the trail); the ones the law does not allow are moved to their next allowed instant on the
    way."""
    async with db.transaction() as s:
        trail: list[TrailEntry] = []
        chosen = None
        candidates = await desk.agent_candidates(s, client, now, 25)
        # Held as the scheduler's claims hold them, all at once in their order, their contacts read once held.
        fresh = await store.decide_one_at_a_time(s, [c.debtor for c in candidates], now)
        for call in candidates:
            a, debtor = call.attempt_id, store.as_held(call.debtor, fresh)
            # Stops at the first allowed: no batch. A pending promise or a standing arrangement holds the call.
            decision = decide_collection(debtor, "agent", now)
            if decision.allowed and (again := await store.contact_context(s, client, debtor.account_ref, now)):
                # The candidates' holds, opt-outs and statuses were read before their debtors were held: a block
                # that committed since, whose withdrawal found no call handed out yet, is read now (withdrawals.py).
                debtor, decision = again, decide_collection(again, "agent", now)
            trail.append(TrailEntry(client, debtor.account_ref, now, "decision", a, "agent", decision_detail(decision)))
            if not decision.allowed:
                await desk.record_decision(s, attempt_id=a, now=now, local_time=decision.local_time.isoformat(),
                                           allowed=False, reasons=list(decision.reasons),
                                           next_allowed_at=decision.next_allowed_at)
                if decision.next_allowed_at and decision.reasons[0] in HOLD_REASONS:
                    # A promise pending or an arrangement standing: the account's plan waits for its end.
                    await holds.postponed(s, [(client, debtor.account_ref, decision.next_allowed_at,
                                               decision.reasons[0])], now)
                elif decision.next_allowed_at:
                    await desk.reschedule(s, a, decision.next_allowed_at)
                else:
                    await desk.cancel_attempt(s, a, "blocked: " + ", ".join(decision.reasons))
                continue
            await desk.record_decision(s, attempt_id=a, now=now, local_time=decision.local_time.isoformat(),
                                       allowed=True, reasons=[], next_allowed_at=None)
            await desk.mark_assigned(s, a, now, to_id=agent.id, to=agent.name)
            await desk.add_contact(s, client=client, debtor_id=debtor.debtor_id, account_ref=debtor.account_ref,
                                   channel="agent", at=now, source="attempt", attempt_id=a)
            # The trail outlives everything and keeps no one's e-mail: the agent by their user (or key) id.
            trail.append(TrailEntry(client, debtor.account_ref, now, "assigned", a, "agent",
                                    {"assigned_to_id": str(agent.id)}))
            try:
                rendered = await Renderer(s, settings, now).render(debtor, "agent")
            except TemplateError:  # the client's script fails on this account: the agent gets the default one
                rendered = await Renderer(s, settings, now).render(debtor, "agent", default=True)
            await outbox.add(s, [ContactAttempted(attempt_id=a, account_ref=debtor.account_ref, channel="agent",
                                                  provider="agent", attempted_at=now, cost=Decimal("0"),
                                                  template=f"agent/{debtor.locale}").envelope(client=client,
                                                                                              occurred_at=now)])
            chosen = CallToMake(a, debtor, rendered.body, agent.name, now)
            break
        await store.trail(s, trail)
    return chosen


async def log_contact(db: Database, *, client: str, account_ref: str, channel: str, at: dt.datetime, outcome: str,
                      promise: Promise | None, attempt_id: uuid.UUID | None, by: uuid.UUID,
                      now: dt.datetime, direction: str = "outbound") -> LoggedContact:
    """A contact an agent made outside Recaudo (or the outcome of a call Recaudo handed out): counted by the
    engine from now on, flagged with the rules it broke, its promise emitted as promise.made. An `inbound` one
    (the debtor phoned or wrote) is recorded but neither counted toward the limits nor judged by them."""
    inbound = direction == "inbound"
    if at > now + dt.timedelta(minutes=5):
        raise Invalid("contact_in_future", "a contact is logged after it happens", title="Invalid contact")
    if inbound and attempt_id is not None:
        raise Invalid("direction_mismatch", "a call handed out by /v1/agent/next is the agency's: outbound",
                      title="Invalid contact")
    if (outcome == "promise_to_pay") != (promise is not None):
        raise Invalid("promise_mismatch", "outcome promise_to_pay needs a promise, and only it may carry one",
                      title="Invalid contact")
    if attempt_id is not None:  # a call withdrawn since its hand-out (or that a block withdraws now) is not logged
        await current_call(db, client=client, attempt_id=attempt_id, account_ref=account_ref, now=now)
    async with db.transaction() as s:
        # Held against a withdrawal until logged: one that came meanwhile is refused as well.
        call = None if attempt_id is None else await handed_out_call(s, client=client, attempt_id=attempt_id,
                                                                     account_ref=account_ref)
        if call is not None and call.withdrawn_for is not None:
            raise withdrawn(call)
        # Its day and week are judged whole: the contacts made since it, before it was logged, count too.
        debtor = await store.contact_context(s, client, account_ref, at, until=now)
        if debtor is None:
            raise NotFound(f"account {account_ref!r}")
        if promise is not None:
            contact_day, window = local_today(debtor.timezone, at), debtor.promise_window_days
            if promise.amount <= 0 or promise.amount > debtor.balance:
                raise Invalid("invalid_promise", "the promised amount must be positive and at most the balance",
                              title="Invalid promise")
            if not fits_minor_units(promise.amount, debtor.currency):  # 1000.50 CLP, as payments refuses it
                raise Invalid("amount_not_in_minor_units", f"{promise.amount} {debtor.currency} has more decimals "
                              f"than {debtor.currency} has", title="Invalid amount")
            if not within_promise_window(promise.due_date, today=contact_day, window_days=window):
                raise Invalid("invalid_promise", f"the promise is due from the day of the contact ({contact_day}) to "
                              f"{latest_promise_date(contact_day, window)}", title="Invalid promise")
        conversation = outcome in CONVERSATIONS and channel in {"voice", "agent"}
        handed = None if attempt_id is None else await desk.handed_out_at(s, attempt_id=attempt_id, client=client,
                                                                           account_ref=account_ref)
        if attempt_id is not None and handed is None:
            raise NotFound(f"assigned call {attempt_id}")
        # A call handed out was allowed then, its limits counted; but the agent may have dialled it later, even
        # another day, so it is judged whole at the moment it was made like any other contact, without the
        # hand-out's own contact (which is this call).
        others = tuple(c for c in debtor.history if handed is None or not (
            c.at == handed and c.channel == "agent" and c.account_ref == account_ref))
        violations = list(rules_broken(contact_request(replace(debtor, history=others),
                                                       "agent" if handed else channel, at),
                                        conversation=conversation, inbound=inbound))
        assigned = attempt_id is not None and await desk.attach_outcome(
            s, attempt_id=attempt_id, client=client, account_ref=account_ref, outcome=outcome,
            conversation=conversation, logged_by=by, rule_violations=violations, made_at=at)
        if attempt_id is not None and not assigned:
            raise NotFound(f"assigned call {attempt_id}")
        contact_id = attempt_id if assigned and attempt_id else await desk.add_contact(
            s, client=client, debtor_id=debtor.debtor_id, account_ref=account_ref, channel=channel, at=at,
            source="logged", outcome=outcome, conversation=conversation, rule_violations=violations, logged_by=by,
            direction=direction)
        if outcome == "wrong_number":  # the number (or address) is not the debtor's: never used again
            await wrong_number(s, client=client, account_ref=account_ref, channel=channel, attempt_id=attempt_id,
                               now=now)
        promise_id = uuid.uuid4() if promise else None
        await store.trail(s, [TrailEntry(client, account_ref, now, "logged", attempt_id, channel, {
            "outcome": outcome, "contacted_at": at.isoformat(), "rule_violations": violations,
            "promise_id": str(promise_id) if promise_id else None, "direction": direction})])
        events: list[Envelope] = [ContactLogged(contact_id=contact_id, account_ref=account_ref, channel=channel,
                                                contacted_at=at, outcome=outcome, rule_violations=violations,
                                                direction="inbound" if inbound else "outbound").envelope(
            client=client, occurred_at=now)]
        if promise is not None and promise_id is not None:
            events.append(PromiseMade(promise_id=promise_id, account_ref=account_ref, amount=promise.amount,
                                      due_date=promise.due_date, source="agent", made_at=at).envelope(
                client=client, occurred_at=now))
        await outbox.add(s, events)
    return LoggedContact(contact_id, violations, promise_id)


async def issue_payment_link(db: Database, settings: OutreachSettings, *, client: str, account_ref: str,
                             by_operator: bool, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A link an agent can hand the debtor by chat or phone; an operator's new link lifts the page's lockout."""
    async with db.transaction() as s:
        if not await store.account_exists(s, client, account_ref):
            raise NotFound(f"account {account_ref!r}")
        link = payment_link(settings, now, client, account_ref)
        if by_operator:
            await debtor_guard.reissue(s, client, account_ref)
    return link
