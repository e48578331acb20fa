"""The gateways' approvals that arrive together are booked in one group commit exactly as one at a time would book
them (the same balances, events and recorded states, each payment once); whatever is not plain (a payment voided
first, a refund waiting for it, an unknown account, another currency, fractions of a cent, a promise to decide, a
checkout's or a payment link's reference, a status other than approved) gets the one-at-a-time path's answer; two
replicas booking the same approvals apply each once; a batch that cannot commit is booked one at a time (#24)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.gateways import handlers, together_store
from payments.gateways.booking import book
from payments.gateways.domain.notifications import GatewayPayment, GatewayReversal
from payments.gateways.store import GatewayAccount
from payments.gateways.together import GatewaysTogether, plain
from recaudo_common.events import PromiseMade
from recaudo_common.payment_links import make_token
from recaudo_common.personal_data import MasterKeyring

from .conftest import NOW, Gateway, deliver
from .test_gateway_accounts import WOMPI, configure

pytestmark = pytest.mark.integration
LINK_SECRET = "secreto-de-enlaces-de-pago-0123456789"


async def wompi_account(gw: Gateway) -> GatewayAccount:
    hook = await configure(gw, "wompi", WOMPI)
    keyring = MasterKeyring.of_settings(gw.platform.settings)
    return await handlers.account_of_webhook(gw.platform.db, keyring, hook.rsplit("/", 1)[1])


def approval(pid: str, ref: str | None = "A-1", amount: str = "30000.00", **extra: Any) -> GatewayPayment:
    return GatewayPayment(**{"gateway": "wompi", "payment_id": pid, "reference": ref, "status": "approved",
                             "amount": Decimal(amount), "currency": "COP", "method": "CARD", "occurred_at": NOW,
                             "gateway_status": "APPROVED", **extra})


async def answers(writer: GatewaysTogether, account: GatewayAccount,
                  effects: list[GatewayPayment | GatewayReversal]) -> list[str]:
    """What each notification, sent all at once, was answered: its status, or the refusal's class."""
    outcomes = await asyncio.gather(*(writer.book(account=account, effect=e, now=NOW) for e in effects),
                                    return_exceptions=True)
    return [type(o).__name__ if isinstance(o, BaseException) else o.status for o in outcomes]


async def one_at_a_time(gw: Gateway, account: GatewayAccount, effect: GatewayPayment | GatewayReversal) -> str:
    return str((await book(gw.platform.db, account=account, effect=effect, link_secret=LINK_SECRET, now=NOW)).status)


async def booked(gw: Gateway, ref: str) -> list[tuple[str, ...]]:
    """What the ledger holds of an account, in order, its payment ids left out: each payment's row and entry, the
    payment.applied events with the balance each left, its recorded state, and the account's balance."""
    async with gw.platform.db.transaction() as s:
        payments = (await s.execute(text(
            "SELECT p.external_id, p.amount::text, p.status, p.method, p.reference, p.claimed_account_ref, "
            "p.source, e.kind, e.amount::text FROM payments.payments p JOIN payments.ledger_entries e "
            "ON e.payment_id = p.id WHERE p.account_ref = :r ORDER BY p.id, e.id"), {"r": ref})).all()
        events = (await s.execute(text(
            "SELECT envelope->'payload'->>'amount', envelope->'payload'->>'new_balance', "
            "envelope->'payload'->>'credit', envelope->'payload'->>'account_status' FROM payments.outbox "
            "WHERE envelope->>'type' = 'payment.applied' AND envelope->'payload'->>'account_ref' = :r ORDER BY id"),
            {"r": ref})).all()
        states = (await s.execute(text(
            "SELECT g.gateway_payment_id, g.status, g.gateway_status, g.reference, g.amount::text, "
            "(g.payment_id = p.id)::text FROM payments.gateway_payment_states g JOIN payments.payments p "
            "ON p.gateway = g.gateway AND p.external_id = g.gateway_payment_id WHERE p.account_ref = :r "
            "ORDER BY g.gateway_payment_id"), {"r": ref})).all()
        account = (await s.execute(text("SELECT balance::text, status FROM payments.accounts WHERE account_ref = :r"),
                                   {"r": ref})).one()
    return [*map(tuple, payments), *map(tuple, events), *map(tuple, states), tuple(account)]


def renamed(rows: list[tuple[str, ...]], old: str, new: str) -> list[tuple[str, ...]]:
    return [tuple(str(v).replace(old, new) if v is not None else v for v in row) for row in rows]


async def test_approvals_sent_together_are_booked_as_one_at_a_time_would_book_them(gateway: Gateway) -> None:
    account = await wompi_account(gateway)
    writer = GatewaysTogether(gateway.platform.db, link_secret=LINK_SECRET)
    lot = [("1", "30000.00"), ("2", "20000.00"), ("3", "60000.00"), ("4", "5000.00")]  # the third beyond the balance
    # A-2 one at a time, A-1 the same approvals all at once.
    assert [await one_at_a_time(gateway, account, approval(f"solo-{i}", "A-2", amount)) for i, amount in lot] == \
        ["applied"] * 4
    assert await answers(writer, account, [approval(f"lote-{i}", "A-1", amount) for i, amount in lot]) == \
        ["applied"] * 4
    assert (writer.commits, writer.booked) == (1, 4)  # all four booked by one group commit
    assert renamed(renamed(await booked(gateway, "A-1"), "lote-", "?"), "A-1", "A-?") == \
        renamed(renamed(await booked(gateway, "A-2"), "solo-", "?"), "A-2", "A-?")
    # Delivered again, together: each a duplicate, nothing booked twice.
    before = await booked(gateway, "A-1")
    assert await answers(writer, account, [approval(f"lote-{i}", "A-1", amount) for i, amount in lot]) == \
        ["duplicate"] * 4
    assert (writer.commits, writer.booked) == (2, 8) and await booked(gateway, "A-1") == before


async def test_what_is_not_plain_gets_the_one_at_a_time_answer(gateway: Gateway) -> None:
    platform = gateway.platform
    account = await wompi_account(gateway)
    await deliver(platform, PromiseMade(promise_id=uuid.uuid4(), account_ref="A-2", amount=Decimal("50000"),
                                        due_date=dt.date(2026, 4, 10), source="agent", made_at=NOW))
    assert await one_at_a_time(gateway, account, approval("anulado", status="voided")) == "voided"
    assert await one_at_a_time(gateway, account, GatewayReversal(
        gateway="wompi", reversal_id="re-1", refers_to="con-reembolso", kind="refunded", amount=Decimal("10000"),
        currency="COP")) == "reversal_waiting"
    link = make_token(client="banco", account_ref="A-1", expires_at=NOW + dt.timedelta(days=7), secret=LINK_SECRET)
    sent = [approval("t-1"), approval("t-1"),  # the second of one payment in a batch finds the first
            approval("anulado"),  # voided before its approval arrived: a stale approval
            approval("con-reembolso"),  # a refund of it waits: applied, then 10,000 taken back
            approval("t-2", "NO-EXISTE"),  # no such account: suspense
            approval("t-3", currency="USD"),  # another currency than the client company's: suspense
            approval("t-4", amount="100.005"),  # fractions of a cent: suspense
            approval("t-5", "A-2", amount="50000.00"),  # keeps A-2's promise
            approval("t-6", status="pending"),  # not an approval
            approval("t-7", link),  # a payment link's token names the account
            approval("t-8", attempt_id="intento-1")]  # an attempt of its own (PayU's transaction under a reference)
    assert [plain(e, link_secret=LINK_SECRET, now=NOW) for e in sent] == [True] * 6 + [False] + [True] + [False] * 3
    writer = GatewaysTogether(platform.db, link_secret=LINK_SECRET)
    assert await answers(writer, account, sent) == [
        "applied", "duplicate", "ignored", "applied", "unmatched", "unmatched", "unmatched", "applied", "pending",
        "applied", "applied"]
    assert (writer.commits, writer.booked) == (1, 1)  # t-1 alone was plain all through; the rest went on their own
    balance, _, entries = await gateway.balance("A-1")
    # 100,000 less t-1 30,000, con-reembolso 30,000 given back 10,000, the link's 30,000 and t-8's 30,000.
    assert balance == entries == Decimal("-10000.00")  # a credit of 10,000 in the ledger
    async with platform.db.transaction() as s:
        reasons = (await s.execute(text(
            "SELECT external_id, unmatched_reason FROM payments.payments WHERE status = 'unmatched' "
            "ORDER BY external_id"))).all()
        voided = await s.scalar(text("SELECT status FROM payments.gateway_payment_states "
                                     "WHERE gateway_payment_id = 'anulado'"))
        promise = await s.scalar(text("SELECT status FROM payments.promises WHERE account_ref = 'A-2'"))
    assert [tuple(r) for r in reasons] == [("t-2", "unknown_account_ref"), ("t-3", "currency_mismatch"),
                                           ("t-4", "amount_not_in_cents")]
    assert voided == "voided"
    assert promise == "kept"


async def test_a_stale_approval_of_a_voided_payment_is_never_applied_however_often_it_comes(
        gateway: Gateway) -> None:
    account = await wompi_account(gateway)
    voided = approval("anulado", status="voided", gateway_status="VOIDED")
    assert await one_at_a_time(gateway, account, voided) == "voided"
    assert [await one_at_a_time(gateway, account, approval("anulado")) for _ in range(3)] == ["ignored"] * 3
    writer = GatewaysTogether(gateway.platform.db, link_secret=LINK_SECRET)
    assert await answers(writer, account, [approval("anulado")]) == ["ignored"]
    balance, _, _ = await gateway.balance("A-1")
    assert balance == Decimal("100000.00")
    async with gateway.platform.db.transaction() as s:
        state = (await s.execute(text("SELECT status, gateway_status FROM payments.gateway_payment_states "
                                      "WHERE gateway_payment_id = 'anulado'"))).one()
    assert tuple(state) == ("voided", "VOIDED")  # the gateway's word stays with the status it explains


async def test_two_replicas_booking_the_same_approvals_apply_each_once(gateway: Gateway) -> None:
    account = await wompi_account(gateway)
    replicas = [GatewaysTogether(gateway.platform.db, link_secret=LINK_SECRET) for _ in range(2)]
    sent = [approval(f"p-{i}", f"A-{1 + i % 2}", "1000.00") for i in range(40)]
    first, second = await asyncio.gather(*(answers(r, account, sent) for r in replicas))
    assert all({a, b} == {"applied", "duplicate"} for a, b in zip(first, second, strict=True)), (first, second)
    for ref in ("A-1", "A-2"):
        balance, _, entries = await gateway.balance(ref)
        assert balance == entries == Decimal("80000.00")  # 20 payments of 1,000 each, once


async def test_a_batch_that_cannot_commit_is_booked_one_at_a_time(gateway: Gateway,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    account = await wompi_account(gateway)

    async def broken(*_: object) -> None:
        raise RuntimeError("the statement failed")

    monkeypatch.setattr(together_store, "record_states", broken)
    writer = GatewaysTogether(gateway.platform.db, link_secret=LINK_SECRET)
    # Both deliveries of c-1 went on their own at once: either may be the one applied.
    assert sorted(await answers(writer, account, [approval("c-1"), approval("c-2", "A-2"), approval("c-1")])) == [
        "applied", "applied", "duplicate"]
    assert (writer.commits, writer.booked) == (0, 0)
    assert [r[0] for r in await booked(gateway, "A-1")][:1] == ["c-1"]
    balance, _, entries = await gateway.balance("A-1")
    assert balance == entries == Decimal("70000.00")
