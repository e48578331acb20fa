"""Group commit of the payments API's own webhook payments (group_commit has the mechanics): the plain case is
applied here, a payment naming an open account with nothing open on it that the payment may decide (no active
arrangement, no pending promise, nothing written off); anything else, and every payment of a batch that cannot
commit, is sent back to its own request, which applies it one at a time (webhooks.receive_webhook), so every rule
beyond the plain booking is written once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from payments import group_commit, store, together_store
from payments.domain.fingerprints import Fingerprint
from payments.domain.ledger import after_payment
from payments.group_commit import ON_ITS_OWN, GroupCommit, first_of_each
from payments.handlers import count_applied, outbox
from payments.records import BookedPayment, WebhookOutcome
from payments.schemas import WebhookIn
from payments.webhooks import client_takes, content_of, receive_webhook, sent_before
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.db import Database, after_commit
from recaudo_common.domain_errors import DomainError
from recaudo_common.events import Envelope, PaymentApplied, payment_method_of
from recaudo_common.ids import time_ordered_id
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data import Vault

# At most this many payments share a transaction: a batch's statements stay small, and a payment behind a full
# batch waits for one more commit at most.
MOST_TOGETHER = 200


@dataclass(kw_only=True)
class Waiting(group_commit.Waiting[WebhookOutcome]):
    """A verified notification waiting for its group commit."""

    gateway: str
    notification: WebhookIn
    content: Fingerprint
    now: dt.datetime

    @property
    def key(self) -> tuple[str, str]:
        return self.gateway, self.notification.payment_id


def plain(n: WebhookIn) -> bool:
    """A payment that names its account and not its payer: the case a group commit applies (a payer's id number is
    looked up in the vault, a refund or chargeback finds its payment: those go one at a time). A NUL character,
    which PostgreSQL refuses in text, would fail the whole batch: such a body goes alone, to be refused alone."""
    said = (n.payment_id, n.client, n.account_ref or "", n.method or "", n.link_token or "", n.currency)
    return (n.type == "payment" and bool(n.account_ref) and not n.debtor_id and n.amount is not None
            and not any("\x00" in value for value in said))


class WebhooksTogether(GroupCommit[Waiting]):
    """Applies verified notifications: plain payments in group commits, the rest one at a time in their own
    requests. One per process; its writer task starts with the first notification."""

    name = "payments: webhooks together"

    def __init__(self, db: Database, vault: Vault, *, link_secret: str | None,
                 most_together: int = MOST_TOGETHER) -> None:
        super().__init__(db, most_together=most_together)
        self.vault, self.link_secret = vault, link_secret

    async def receive(self, *, gateway: str, notification: WebhookIn, now: dt.datetime) -> WebhookOutcome:
        if plain(notification):
            waiting = Waiting(gateway=gateway, notification=notification, now=now,
                              content=content_of(notification, self.vault.keyring.all),
                              answer=asyncio.get_running_loop().create_future())
            self.enqueue(waiting)
            outcome = await waiting.answer
            if outcome is not ON_ITS_OWN:
                return outcome
        return await receive_webhook(self.db, vault=self.vault, gateway=gateway, notification=notification,
                                     now=now, link_secret=self.link_secret)

    async def apply_together(self, s: AsyncSession, batch: Sequence[Waiting]) -> list[Waiting]:
        """Books the batch's plain payments in `s` and answers them once it commits; returns those it leaves to
        their own requests. Refusals (unknown client company, a date to come, an id reused with other content)
        are answered as they are found: they write nothing."""
        candidates, later = first_of_each(batch, lambda w: w.key)
        accounts = sorted({(w.notification.client, str(w.notification.account_ref)) for w in candidates})
        locked = await store.lock_accounts_to_pay(s, accounts)
        # Read once the accounts are locked: a delivery of the same payment another replica was recording on one
        # of them has committed by now, and is found here rather than failing the batch at the unique index.
        earlier = await together_store.gateway_payments(s, [w.key for w in candidates])
        # An account with more to decide than a balance (or not open yet) takes all its payments one at a time.
        not_plain = {key for key in accounts if key not in locked or locked[key][0].written_off
                     or locked[key][1].arrangement or locked[key][1].promises}
        balances = {key: (account.balance, account.status) for key, (account, _) in locked.items()}
        copies: dict[str, ClientCopy | None] = {}
        booked: list[tuple[Waiting, BookedPayment, Envelope]] = []
        for w in candidates:
            n = w.notification
            account = (n.client, str(n.account_ref))
            try:  # in the one-at-a-time path's order: a payment sent before, then the client company's rules
                if (before := earlier.get(w.key)) is not None:
                    w.tell(sent_before(n, w.content, before.content_sha256))
                    continue
                if n.client not in copies:
                    copies[n.client] = await get_client(s, store.SCHEMA, n.client)
                client_takes(copies[n.client], n, now=w.now)
            except DomainError as refused:
                w.tell(refused)
                continue
            copy = copies[n.client]
            # One in another currency waits in suspense, written one at a time (webhooks._hold_in_another_currency).
            if account in not_plain or (copy is not None and n.currency != copy.currency):
                later.append(w)
                continue
            assert n.amount is not None  # plain() lets none through without one
            balance, status = balances[account]
            # The account it names is open: matched by its reference (matching's first rule).
            result = after_payment(balance, n.amount, status)
            balances[account] = (result.balance, result.status)
            payment = BookedPayment(
                payment_id=time_ordered_id(), client=n.client, account_ref=account[1], amount=n.amount,
                currency=n.currency, paid_at=n.paid_at, method=n.method, reference=n.link_token, gateway=w.gateway,
                external_id=n.payment_id, content_sha256=w.content.recorded, received_at=w.now)
            booked.append((w, payment, PaymentApplied(
                payment_id=payment.payment_id, account_ref=account[1], amount=n.amount, currency=n.currency,
                paid_at=n.paid_at, source="gateway", method=payment_method_of(n.method), new_balance=result.balance,
                credit=result.credit, account_status=result.status).envelope(client=n.client, occurred_at=w.now)))
        if booked:
            rows = [payment for _, payment, _ in booked]
            await together_store.insert_payments(s, rows)
            await together_store.add_payment_entries(s, rows)
            await store.set_balances(s, [(c, r, *balances[(c, r)]) for c, r in sorted(
                {(p.client, p.account_ref) for p in rows})], max(w.now for w, _, _ in booked))
            # Each event staged in its request's context: its correlation and trace are that request's.
            await outbox.write(s, [w.context.run(Outbox.stage, envelope) for w, _, envelope in booked])
            for w, payment, _ in booked:
                after_commit(s, _answer(w, payment))
        return later


def _answer(waiting: Waiting, payment: BookedPayment) -> Callable[[], None]:
    def committed() -> None:
        count_applied(payment.client, payment.amount, payment.currency)
        waiting.tell(WebhookOutcome(status="applied", payment_id=payment.external_id))
    return committed
