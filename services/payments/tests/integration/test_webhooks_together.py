"""Gateway payments that arrive together are applied in one group commit, booked exactly as one at a time would
book them: in the order they came, each once; what needs more than a balance (a promise to decide, an account not
open, a refund) and every refusal get the one-at-a-time path's answer; several gateways share a batch; a delivery
another replica is recording meanwhile is found, not fatal; a batch that cannot commit is applied one payment at a
time in the payments' own requests, each once (#24)."""

import asyncio
import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments import together_store
from payments.schemas import WebhookIn
from payments.webhooks import _receive, content_of, receive_webhook
from payments.webhooks_together import WebhooksTogether, plain
from recaudo_common.domain_errors import Conflict, NotFound
from recaudo_common.events import PromiseMade
from recaudo_common.personal_data import Vault

from .conftest import NOW, Gateway, deliver, payment, someone_waits_for_a_lock

pytestmark = pytest.mark.integration


def notification(pid: str, ref: str | None = "A-1", amount: str = "30000.00", **extra: Any) -> WebhookIn:
    return WebhookIn.model_validate(payment(pid, ref, amount, **extra))


def together(gateway: Gateway) -> WebhooksTogether:
    platform = gateway.platform
    return WebhooksTogether(platform.db, Vault.from_settings(platform.settings), link_secret=None)


async def answers(writer: WebhooksTogether, sent: list[WebhookIn], gateways: list[str] | None = None) -> list[str]:
    """What each notification, sent all at once, was answered: its status, or the refusal's class."""
    outcomes = await asyncio.gather(*(writer.receive(gateway=g, notification=n, now=NOW) for n, g in zip(
        sent, gateways or ["pasarela"] * len(sent), strict=True)), return_exceptions=True)
    return [type(o).__name__ if isinstance(o, Exception) else o.status for o in outcomes]


async def applied_events(gateway: Gateway, ref: str) -> list[tuple[str, str, str]]:
    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text(
            "SELECT envelope->'payload'->>'new_balance', envelope->'payload'->>'credit', "
            "envelope->'payload'->>'account_status' FROM payments.outbox "
            "WHERE envelope->>'type' = 'payment.applied' AND envelope->'payload'->>'account_ref' = :r ORDER BY id"),
            {"r": ref})).all()
    return [(Decimal(b).normalize().to_eng_string(), Decimal(c).normalize().to_eng_string(), st) for b, c, st in rows]


async def test_payments_sent_together_are_booked_as_one_at_a_time_would_book_them(gateway: Gateway) -> None:
    platform = gateway.platform
    await deliver(platform, PromiseMade(promise_id=uuid.uuid4(), account_ref="A-2", amount=Decimal("50000"),
                                        due_date=dt.date(2026, 4, 10), source="agent", made_at=NOW))
    assert (await gateway.send(payment("earlier", ref="A-1", amount="1000.00"))).json()["status"] == "applied"
    writer = together(gateway)
    sent = [notification("t-1"), notification("t-2", amount="20000.00"),
            notification("t-3", amount="60000.00"),  # beyond the balance: a credit
            notification("t-4", ref="A-2", amount="50000.00"),  # keeps A-2's promise: one at a time
            notification("t-5", ref="NO-EXISTE"),  # no such account: suspense, one at a time
            notification("t-1"),  # sent twice in the batch: the second is a duplicate
            notification("t-2", amount="99.00"),  # the same id saying otherwise: a conflict
            notification("t-6", currency="USD"),  # another currency: waits in suspense, one at a time
            notification("t-7", client="otro"),
            notification("earlier", amount="1000.00"),  # recorded before the batch: a duplicate
            notification("earlier", amount="2000.00"),  # ... and with other content: a conflict
            notification("r-1", amount="500.00", type="refund", refers_to="earlier")]  # not plain: on its own
    assert [plain(n) for n in sent] == [True] * 11 + [False]
    assert await answers(writer, sent) == [
        "applied", "applied", "applied", "applied", "unmatched", "duplicate", Conflict.__name__, "unmatched",
        NotFound.__name__, "duplicate", Conflict.__name__, "reversed"]
    assert writer.commits == 1  # every plain payment of the lot in one transaction
    # A-1 (100,000.00 less the earlier 1,000.00): each payment booked on the balance the one before it left (the
    # refund of 500.00, applied on its own while the batch waited, came first or last: both orders are shown).
    events = await applied_events(gateway, "A-1")
    assert events in ([("99E+3", "0", "open"), ("69.5E+3", "0", "open"), ("49.5E+3", "0", "open"),
                       ("-10.5E+3", "10.5E+3", "paid")],
                      [("99E+3", "0", "open"), ("69E+3", "0", "open"), ("49E+3", "0", "open"),
                       ("-11E+3", "11E+3", "paid")]), events
    assert await gateway.balance("A-1") == (Decimal("-10500.00"), "paid", Decimal("-10500.00"))
    assert await gateway.balance("A-2") == (Decimal("50000.00"), "open", Decimal("50000.00"))
    async with platform.db.transaction() as s:
        promise = await s.scalar(text("SELECT status FROM payments.promises WHERE account_ref = 'A-2'"))
        booked = (await s.execute(text(
            "SELECT external_id, status, source, claimed_account_ref, content_sha256 IS NOT NULL, received_at, "
            "method, reference, paid_at, gateway FROM payments.payments ORDER BY external_id"))).all()
        entries = (await s.execute(text(
            "SELECT p.external_id, e.amount, e.booked_at FROM payments.ledger_entries e "
            "JOIN payments.payments p ON p.id = e.payment_id WHERE e.kind = 'payment' ORDER BY 1"))).all()
    assert promise == "kept"
    assert [(b[0], b[1], b[2], b[3], b[4]) for b in booked] == [
        ("earlier", "applied", "gateway", "A-1", True), ("t-1", "applied", "gateway", "A-1", True),
        ("t-2", "applied", "gateway", "A-1", True), ("t-3", "applied", "gateway", "A-1", True),
        ("t-4", "applied", "gateway", "A-2", True), ("t-5", "unmatched", "gateway", "NO-EXISTE", True),
        ("t-6", "unmatched", "gateway", None, True)]  # claims no account: no placement may book dollars as pesos
    # Received now, as sent (method, paid at, gateway); a suspense payment keeps what it named as its reference.
    assert [(b[5], b[6], b[7], b[8], b[9]) for b in booked] == [(NOW, "pse", None, NOW, "pasarela")] * 5 + [
        (NOW, "pse", "NO-EXISTE", NOW, "pasarela"), (NOW, "pse", "A-1", NOW, "pasarela")]
    assert entries == [("earlier", Decimal("-1000.00"), NOW), ("t-1", Decimal("-30000.00"), NOW),
                       ("t-2", Decimal("-20000.00"), NOW), ("t-3", Decimal("-60000.00"), NOW),
                       ("t-4", Decimal("-50000.00"), NOW)]
    # The same notifications again, one at a time, change nothing: each was recorded once.
    again = [await receive_webhook(platform.db, vault=writer.vault, gateway="pasarela", notification=n, now=NOW)
             for n in sent[:5]]
    assert [a.status for a in again] == ["duplicate"] * 5


async def test_a_delivery_another_replica_is_recording_is_found_once_it_commits(gateway: Gateway) -> None:
    """Another replica's transaction records `race-1` and has not committed when this batch comes: the batch waits
    for the account's lock, then finds the payment committed and answers `duplicate`; the others apply, in the same
    group commit."""
    platform = gateway.platform
    writer = together(gateway)
    sent = [notification("race-1", amount="1000.00"), notification("race-2", amount="2000.00"),
            notification("race-3", ref="A-2", amount="3000.00")]
    async with platform.db.transaction() as other:
        first = await _receive(other, vault=writer.vault, gateway="pasarela", notification=sent[0],
                               content=content_of(sent[0], writer.vault.keyring.all), now=NOW, link_secret=None)
        assert first.status == "applied"
        batch = asyncio.create_task(answers(writer, sent))
        deadline = time.monotonic() + 30
        while not await someone_waits_for_a_lock(gateway):  # the batch waits on A-1, locked by the other transaction
            assert time.monotonic() < deadline and not batch.done(), "the batch never met the other's lock"
            await asyncio.sleep(0.02)
    assert await asyncio.wait_for(batch, 30) == ["duplicate", "applied", "applied"]
    assert writer.commits == 1
    assert await gateway.balance("A-1") == (Decimal("97000.00"), "open", Decimal("97000.00"))
    assert await gateway.balance("A-2") == (Decimal("97000.00"), "open", Decimal("97000.00"))


async def test_a_batch_that_cannot_commit_is_applied_one_payment_at_a_time(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure in the group commit's transaction (injected: the ledger's statement fails) rolls the batch back,
    and each payment is applied once by its own request, one at a time."""
    writer = together(gateway)

    async def failing(*_: object) -> None:
        raise RuntimeError("injected: the ledger's statement failed")

    monkeypatch.setattr(together_store, "add_payment_entries", failing)
    sent = [notification(f"f-{i}", amount="1000.00") for i in range(5)] + [notification("f-5", ref="A-2")]
    assert await answers(writer, sent) == ["applied"] * 6
    assert writer.commits == 0  # the group commit failed: every payment went on its own
    assert await gateway.balance("A-1") == (Decimal("95000.00"), "open", Decimal("95000.00"))
    assert await gateway.balance("A-2") == (Decimal("70000.00"), "open", Decimal("70000.00"))
    assert sorted(Decimal(b) for b, _, _ in await applied_events(gateway, "A-1")) == [
        Decimal(95000 + 1000 * i) for i in range(5)]


async def test_several_gateways_share_a_group_commit(gateway: Gateway) -> None:
    """Two gateways may each name a payment `same-id`: they are two payments, both applied in one commit."""
    writer = together(gateway)
    sent = [notification("same-id", amount="1000.00"), notification("same-id", amount="1000.00"),
            notification("other-id", ref="A-2", amount="2000.00")]
    assert await answers(writer, sent, ["pasarela", "sandbox", "sandbox"]) == ["applied"] * 3
    assert writer.commits == 1
    assert await gateway.balance("A-1") == (Decimal("98000.00"), "open", Decimal("98000.00"))
    async with gateway.platform.db.transaction() as s:
        assert sorted((await s.execute(text("SELECT gateway, external_id FROM payments.payments"))).all()) == [
            ("pasarela", "same-id"), ("sandbox", "other-id"), ("sandbox", "same-id")]


async def test_concurrent_webhooks_through_the_api_each_book_on_the_balance_the_one_before_left(
        gateway: Gateway) -> None:
    sent = await asyncio.gather(*(gateway.send(payment(f"c-{i}", amount="1000.00")) for i in range(30)))
    assert [r.json()["status"] for r in sent] == ["applied"] * 30
    assert await gateway.balance("A-1") == (Decimal("70000.00"), "open", Decimal("70000.00"))
    # Thirty payments of 1,000.00, each on what the one before it left: every balance between 99,000 and 70,000.
    assert sorted(Decimal(b) for b, _, _ in await applied_events(gateway, "A-1")) == [
        Decimal(70000 + 1000 * i) for i in range(30)]
