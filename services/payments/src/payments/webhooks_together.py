"""Group commit of gateway payments: the notifications that arrive while a transaction is writing wait for the next
one and are applied together, each statement carrying all of them, so a payment's cost is not its own round trips
(#24: they were most of it). Only the plain case is applied here, a payment naming an open account with nothing
open on it that the payment may decide (no active arrangement, no pending promise, nothing written off); anything
else, and any batch that cannot commit, takes the one-at-a-time path (webhooks.receive_webhook) after it, so every
rule beyond the plain booking is written once."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store, together_store
from payments.domain.fingerprints import Fingerprint
from payments.domain.ledger import after_payment
from payments.domain.matching import match_payment
from payments.handlers import count_applied, outbox
from payments.records import BookedPayment, WebhookOutcome
from payments.schemas import WebhookIn
from payments.webhooks import client_takes, content_of, receive_webhook, sent_before
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.db import Database, after_commit
from recaudo_common.domain_errors import DomainError
from recaudo_common.events import Envelope, PaymentApplied
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data import Vault

log = logging.getLogger("recaudo.payments")

# At most this many payments share a transaction: a batch's statements stay small, and a payment behind a full
# batch waits for one more commit at most.
MOST_TOGETHER = 200


@dataclass
class Waiting:
    """A verified notification waiting for its group commit, and the answer its request awaits."""

    gateway: str
    notification: WebhookIn
    content: Fingerprint
    now: dt.datetime
    answer: asyncio.Future[WebhookOutcome] = field(repr=False)
    # Its request's context: what it emits carries the request's correlation and trace, not the writer's.
    context: contextvars.Context = field(repr=False, default_factory=contextvars.copy_context)

    def tell(self, outcome: WebhookOutcome | Exception) -> None:
        if self.answer.done():  # its request went away (the gateway hung up): it delivers again, and is told
            return
        if isinstance(outcome, Exception):
            self.answer.set_exception(outcome)
        else:
            self.answer.set_result(outcome)


def plain(n: WebhookIn) -> bool:
    """A payment that names its account and not its payer: the case a group commit applies (a payer's id number is
    looked up in the vault, a refund or chargeback finds its payment: those go one at a time)."""
    return n.type == "payment" and bool(n.account_ref) and not n.debtor_id and n.amount is not None


class WebhooksTogether:
    """Applies verified notifications: plain payments in group commits, the rest one at a time. One per process;
    its writer task starts with the first notification."""

    def __init__(self, db: Database, vault: Vault, *, link_secret: str | None,
                 most_together: int = MOST_TOGETHER) -> None:
        self.db, self.vault, self.link_secret, self.most_together = db, vault, link_secret, most_together
        self.queue: asyncio.Queue[Waiting] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None
        self.commits = 0  # group commits made (a test reads it: were these payments committed together?)

    async def receive(self, *, gateway: str, notification: WebhookIn, now: dt.datetime) -> WebhookOutcome:
        if not plain(notification):
            return await receive_webhook(self.db, vault=self.vault, gateway=gateway, notification=notification,
                                         now=now, link_secret=self.link_secret)
        loop = asyncio.get_running_loop()
        waiting = Waiting(gateway, notification, content_of(notification, self.vault.keyring.all), now,
                          loop.create_future())
        self.queue.put_nowait(waiting)
        # A writer of another event loop (a test's earlier app) can never run again here.
        if self.writer is None or self.writer.done() or self.writer.get_loop() is not loop:
            # In a context of its own: it works for every request, not the one that happened to start it.
            self.writer = loop.create_task(self._write(), name="payments: webhooks together",
                                           context=contextvars.Context())
        return await waiting.answer

    async def _write(self) -> None:
        """Takes what is waiting, up to most_together, and applies it; whatever arrives meanwhile is the next
        batch. Ends when nothing waits (the next notification starts it again)."""
        while not self.queue.empty():
            batch = [self.queue.get_nowait() for _ in range(min(self.queue.qsize(), self.most_together))]
            try:
                await self.apply(batch)
            except BaseException:  # cancelled (the process stops): never leave a request waiting for an answer
                for waiting in batch:
                    waiting.answer.cancel()
                raise

    async def apply(self, batch: Sequence[Waiting]) -> None:
        """One transaction for the batch's plain payments; then each of the rest one at a time, in the order they
        came. A batch that cannot commit (another replica recorded one of its payments first, a passing failure,
        anything) is applied one at a time instead, where each payment meets its own answer."""
        try:
            async with self.db.transaction() as s:
                later = await self._apply_together(s, batch)
            self.commits += 1
        except Exception as exc:
            log.warning("a group commit of webhook payments failed; each is applied on its own",
                        extra={"fields": {"payments": len(batch), "error": type(exc).__name__}})
            later = [w for w in batch if not w.answer.done()]
        loop = asyncio.get_running_loop()
        for waiting in later:
            try:
                waiting.tell(await loop.create_task(receive_webhook(
                    self.db, vault=self.vault, gateway=waiting.gateway, notification=waiting.notification,
                    now=waiting.now, link_secret=self.link_secret), context=waiting.context))
            except Exception as exc:
                waiting.tell(exc)

    async def _apply_together(self, s: AsyncSession, batch: Sequence[Waiting]) -> list[Waiting]:
        """Books the batch's plain payments in `s` and answers them once it commits; returns those it leaves to
        the one-at-a-time path. Refusals (unknown client company, another currency, an id reused with other
        content) are answered as they are found: they write nothing."""
        gateway = batch[0].gateway
        if any(w.gateway != gateway for w in batch):
            raise ValueError("a group commit takes one gateway's notifications")  # one route, one gateway each
        earlier = await together_store.gateway_payments(s, gateway, [w.notification.payment_id for w in batch])
        copies: dict[str, ClientCopy | None] = {}
        later: list[Waiting] = []
        candidates: list[Waiting] = []
        ids_seen: set[str] = set()
        for w in batch:
            n = w.notification
            if n.payment_id in ids_seen:  # sent twice in one batch: the second finds the first once it commits
                later.append(w)
                continue
            ids_seen.add(n.payment_id)
            try:
                if (before := earlier.get(n.payment_id)) is not None:
                    w.tell(sent_before(n, w.content, before.content_sha256))
                    continue
                if n.client not in copies:
                    copies[n.client] = await get_client(s, store.SCHEMA, n.client)
                client_takes(copies[n.client], n)
            except DomainError as refused:
                w.tell(refused)
                continue
            candidates.append(w)
        keys = sorted({(w.notification.client, str(w.notification.account_ref)) for w in candidates})
        locked = await together_store.lock_accounts_to_pay(s, keys) if keys else {}
        # An account with more to decide than a balance (or not open yet) takes all its payments one at a time.
        not_plain = {key for key in keys if key not in locked or locked[key][0].written_off
                     or locked[key][1].arrangement or locked[key][1].promises}
        balances = {key: (account.balance, account.status) for key, (account, _) in locked.items()}
        booked: list[tuple[Waiting, BookedPayment]] = []
        events: list[tuple[Waiting, Envelope]] = []
        for w in candidates:
            n = w.notification
            key = (n.client, str(n.account_ref))
            if key in not_plain:
                later.append(w)
                continue
            # The account it names is open: the one matching rule says it is the account paid.
            paid = match_payment(account_ref=n.account_ref, known_account=True, debtor_id=None,
                                 debtor_open_accounts=[]).account_ref
            if paid != key[1]:
                later.append(w)
                continue
            amount = n.amount if n.amount is not None else Decimal(0)
            balance, status = balances[key]
            result = after_payment(balance, amount, status)
            balances[key] = (result.balance, result.status)
            payment = BookedPayment(
                payment_id=uuid.uuid4(), client=n.client, account_ref=key[1], amount=amount, currency=n.currency,
                paid_at=n.paid_at, method=n.method, reference=n.link_token, gateway=gateway,
                external_id=n.payment_id, content_sha256=w.content.recorded, received_at=w.now)
            booked.append((w, payment))
            events.append((w, PaymentApplied(
                payment_id=payment.payment_id, account_ref=key[1], amount=amount, currency=n.currency,
                paid_at=n.paid_at, source="gateway", method=n.method, new_balance=result.balance,
                credit=result.credit, account_status=result.status).envelope(client=n.client, occurred_at=w.now)))
        if booked:
            rows = [payment for _, payment in booked]
            await together_store.insert_payments(s, rows)
            await together_store.add_payment_entries(s, rows)
            now = max(w.now for w, _ in booked)
            await store.set_balances(s, [(c, r, balances[(c, r)][0], balances[(c, r)][1])
                                         for c, r in {(p.client, p.account_ref) for p in rows}], now)
            # Each event staged in its request's context: its correlation and trace are that request's.
            await outbox.write(s, [w.context.run(Outbox.stage, envelope) for w, envelope in events])
            for w, p in booked:
                after_commit(s, _answer(w, p))
        return later


def _answer(waiting: Waiting, payment: BookedPayment) -> Callable[[], None]:
    def committed() -> None:
        count_applied(payment.client, payment.amount, payment.currency)
        waiting.tell(WebhookOutcome(status="applied", payment_id=payment.external_id))
    return committed
