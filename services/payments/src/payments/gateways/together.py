"""Group commit of the gateways' own notifications (a verified approval from Wompi, Mercado Pago or Stripe at an
account's webhook URL; PayU's carry an attempt of their own and go one at a time; group_commit has the mechanics),
so a notification's cost is not its own round trips (#24: one at a time, one core booked about 220 a second). The
plain case is booked here: the first approval of a payment naming an account's own reference (not a checkout's, not
a payment link's) in the client company's currency and in cents, for an open account with nothing open on it that
the payment may decide, no refund waiting for it; and an approval of a payment already applied (a redelivery:
`duplicate`). Anything else, and every notification of a batch that cannot commit, is booked one at a time in its
own request (booking.book), so every rule beyond the plain booking is written once."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from sqlalchemy.ext.asyncio import AsyncSession

from payments import group_commit
from payments import store as ledger
from payments import together_store as ledger_together
from payments.checkouts.domain import is_reference
from payments.domain.ledger import after_payment
from payments.gateways import together_store
from payments.gateways.booking import Effect, book
from payments.gateways.domain.notifications import GatewayPayment
from payments.gateways.schemas import GatewayNotificationOut
from payments.gateways.store import NEVER_APPLIED_AFTER, GatewayAccount
from payments.group_commit import ON_ITS_OWN, GroupCommit, first_of_each
from payments.handlers import count_applied, outbox
from payments.records import BookedPayment
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.db import Database, after_commit
from recaudo_common.events import Envelope, PaymentApplied, payment_method_of
from recaudo_common.ids import time_ordered_id
from recaudo_common.money import CENT, fits_minor_units
from recaudo_common.outbox import Outbox
from recaudo_common.payment_links import read_token

MOST_TOGETHER = 200  # as the payments API's own webhooks: small statements, one more commit's wait at most


@dataclass(kw_only=True)
class Waiting(group_commit.Waiting[GatewayNotificationOut]):
    """A verified approval waiting for its group commit."""

    account: GatewayAccount
    payment: GatewayPayment
    now: dt.datetime

    @property
    def key(self) -> together_store.Key:
        return self.account.ledger_key, self.payment.payment_id


def plain(effect: Effect, *, link_secret: str | None,
          now: dt.datetime) -> TypeGuard[GatewayPayment]:
    """An approval a group commit may book: its reference is an account's own (a checkout's or a payment link's
    is followed one at a time), it is in cents (else suspense), and it carries no refund and no attempt of its own
    (PayU's second approvals). A NUL character, which PostgreSQL refuses in text, would fail the whole batch: such
    a notification goes alone, to be refused alone."""
    if not isinstance(effect, GatewayPayment) or not effect.reference:
        return False
    p, reference = effect, effect.reference
    said = (p.payment_id, reference, p.method or "", p.gateway_status or "", p.currency)
    # An amount of nothing, which the ledger refuses, would fail the whole batch too: it goes alone.
    return (p.status == "approved" and p.attempt_id is None and not p.refunded_amount and not is_reference(reference)
            and p.amount > 0 and p.amount == p.amount.quantize(CENT) and fits_minor_units(p.amount, p.currency)
            and (link_secret is None or read_token(reference, secret=link_secret, now=now, allow_expired=True) is None)
            and not any("\x00" in value for value in said))


class GatewaysTogether(GroupCommit[Waiting]):
    """Books verified gateway notifications: plain approvals in group commits, the rest one at a time in their own
    requests. One per process; its writer task starts with the first notification."""

    name = "payments: gateway notifications together"

    def __init__(self, db: Database, *, link_secret: str | None, most_together: int = MOST_TOGETHER) -> None:
        super().__init__(db, most_together=most_together)
        self.link_secret = link_secret
        self.booked = 0  # approvals booked by a group commit, duplicates included (a test reads it)

    async def book(self, *, account: GatewayAccount, effect: Effect,
                   now: dt.datetime) -> GatewayNotificationOut:
        """What the notification did, booked in a group commit when it is plain, else on its own."""
        if plain(effect, link_secret=self.link_secret, now=now):
            waiting = Waiting(account=account, payment=effect, now=now,
                              answer=asyncio.get_running_loop().create_future())
            self.enqueue(waiting)
            outcome = await waiting.answer
            if outcome is not ON_ITS_OWN:
                return outcome
        return await book(self.db, account=account, effect=effect, link_secret=self.link_secret, now=now)

    async def apply_together(self, s: AsyncSession, batch: Sequence[Waiting]) -> list[Waiting]:
        """Books the batch's plain approvals in `s` and answers them once it commits; returns those it leaves to
        their own requests, in the one-at-a-time path's terms: a payment sent twice in the batch (the second finds
        the first), one the gateway voided or took back first, one a refund waits for, one for an account that is
        not open or has more to decide than a balance, one in another currency than the client company's."""
        candidates, later = first_of_each(batch, lambda w: w.key)
        if not candidates:
            return later
        keys = [w.key for w in candidates]
        # Held until commit, as booking holds its one: a reversal of one of these is either seen here or sees it.
        await together_store.lock_gateway_payments(s, keys)
        states = await together_store.payment_states(s, keys)
        applied = await ledger_together.gateway_payments(s, keys)
        refunds_waiting = await together_store.with_pending_reversals(s, keys)
        again: list[Waiting] = []  # already applied: a redelivery
        first: list[Waiting] = []
        for w in candidates:
            state = states.get(w.key)
            if w.key in applied:
                again.append(w)
            elif (state is not None and state.status in NEVER_APPLIED_AFTER) or w.key in refunds_waiting:
                later.append(w)
            else:
                first.append(w)
        booked, left = await self._book_first(s, first)
        later += left
        await together_store.record_states(s, [_state(w, None) for w in again]
                                           + [_state(w, payment.payment_id) for w, payment, _ in booked])
        if booked:
            rows = [payment for _, payment, _ in booked]
            await ledger_together.insert_payments(s, rows)
            await ledger_together.add_payment_entries(s, rows)
            # Each event staged in its request's context: its correlation and trace are that request's.
            await outbox.write(s, [w.context.run(Outbox.stage, envelope) for w, _, envelope in booked])
        for w in again:
            after_commit(s, _told(w, GatewayNotificationOut(status="duplicate", gateway_payment_id=w.key[1])))
        for w, payment, _ in booked:
            after_commit(s, _applied(w, payment))
        after_commit(s, self._counted(len(again) + len(booked)))
        return later

    def _counted(self, booked: int) -> Callable[[], None]:
        def committed() -> None:
            self.booked += booked
        return committed

    async def _book_first(self, s: AsyncSession, first: Sequence[Waiting]
                          ) -> tuple[list[tuple[Waiting, BookedPayment, Envelope]], list[Waiting]]:
        """First approvals booked on their accounts' balances, in the order they came, and those that need more
        than a balance (left to their own requests). The balances are written here; the rest by the caller."""
        accounts = sorted({(w.account.client, str(w.payment.reference)) for w in first})
        locked = await ledger.lock_accounts_to_pay(s, accounts)
        copies: dict[str, ClientCopy | None] = {}
        for client in {w.account.client for w in first}:
            copies[client] = await get_client(s, ledger.SCHEMA, client)
        # An account with more to decide than a balance (or not open yet) takes all its payments one at a time.
        not_plain = {key for key in accounts if key not in locked or locked[key][0].written_off
                     or locked[key][1].arrangement or locked[key][1].promises}
        balances = {key: (account.balance, account.status) for key, (account, _) in locked.items()}
        booked: list[tuple[Waiting, BookedPayment, Envelope]] = []
        left: list[Waiting] = []
        for w in first:
            p, client = w.payment, w.account.client
            account = (client, str(p.reference))
            copy = copies[client]
            if account in not_plain or copy is None or p.currency != copy.currency:
                left.append(w)
                continue
            balance, status = balances[account]
            result = after_payment(balance, p.amount, status)  # matched by the account's own reference
            balances[account] = (result.balance, result.status)
            paid_at = p.occurred_at or w.now
            payment = BookedPayment(
                payment_id=time_ordered_id(), client=client, account_ref=account[1], amount=p.amount,
                currency=p.currency, paid_at=paid_at, method=p.method, reference=p.reference,
                gateway=w.account.ledger_key, external_id=p.payment_id, content_sha256=None, received_at=w.now)
            booked.append((w, payment, PaymentApplied(
                payment_id=payment.payment_id, account_ref=account[1], amount=p.amount, currency=p.currency,
                paid_at=paid_at, source="gateway", method=payment_method_of(p.method), new_balance=result.balance,
                credit=result.credit, account_status=result.status).envelope(client=client, occurred_at=w.now)))
        if booked:
            await ledger.set_balances(s, [(c, r, *balances[(c, r)]) for c, r in sorted(
                {(payment.client, payment.account_ref) for _, payment, _ in booked})], max(w.now for w, _, _ in booked))
        return booked, left


def _state(w: Waiting, payment_id: uuid.UUID | None) -> together_store.NotifiedState:
    p = w.payment
    return together_store.NotifiedState(
        gateway=w.account.ledger_key, gateway_payment_id=p.payment_id, client=w.account.client, status=p.status,
        gateway_status=p.gateway_status, reference=p.reference, amount=p.amount, currency=p.currency,
        payment_id=payment_id, now=w.now)


def _told(waiting: Waiting, outcome: GatewayNotificationOut) -> Callable[[], None]:
    return lambda: waiting.tell(outcome)


def _applied(waiting: Waiting, payment: BookedPayment) -> Callable[[], None]:
    def committed() -> None:
        count_applied(payment.client, payment.amount, payment.currency)
        waiting.tell(GatewayNotificationOut(status="applied", gateway_payment_id=payment.external_id))
    return committed
