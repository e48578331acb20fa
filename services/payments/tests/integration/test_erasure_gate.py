"""Payments, the owner of every balance, is the gate of a person's erasure: reporting decides on its read model,
which may not yet show a chargeback, a reversal or a restatement that reopened an account (or a new account of the
person), so payments checks the person's accounts again in the transaction that erases its copy, under the same
row locks the ledger takes, and refuses while one is an active obligation (real PostgreSQL, payments' consumer)."""

import asyncio
import uuid

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import AccountRecalled, DebtorErasureProposed
from recaudo_common.testing import eventually

from .conftest import NOW, Gateway, consumer, deliver, payment, placed, someone_waits_for_a_lock

pytestmark = pytest.mark.integration

REQUEST = DebtorErasureProposed


async def decided(gateway: Gateway, debtor_ref: uuid.UUID, *refs: str) -> uuid.UUID:
    """Reporting's erasure of the person, decided on what its read model showed, reaching payments."""
    platform = gateway.platform
    request = REQUEST(erasure_id=uuid.uuid4(), debtor_ref=debtor_ref, account_refs=list(refs), reason="retention",
                      requested_at=NOW)
    envelope = request.envelope(client="banco", occurred_at=NOW)
    runtime = ConsumerRuntime(platform.db, platform.transport, consumer(platform), "t", lambda: NOW)
    assert await runtime.handle_batch([Message("t.debtor", envelope.key, envelope, {})]) == ["processed"]
    return request.erasure_id


async def answers(gateway: Gateway, erasure_id: uuid.UUID) -> list[tuple[str, list[str] | None]]:
    """What payments published about the erasure: each confirmation or refusal, with the accounts it names."""
    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text(
            "SELECT envelope->>'type', envelope->'payload'->'active_account_refs' FROM payments.outbox "
            "WHERE envelope->'payload'->>'erasure_id' = :e ORDER BY id"), {"e": str(erasure_id)})).all()
    return [(r[0], r[1]) for r in rows]


async def fingerprint(gateway: Gateway, external_id: str) -> object:
    async with gateway.platform.db.transaction() as s:
        return await s.scalar(text("SELECT content_sha256 FROM payments.payments WHERE external_id = :x"),
                              {"x": external_id})


async def paid_in_full(gateway: Gateway) -> uuid.UUID:
    """Ana's ANA-1 placed and paid in full by a gateway payment: closed, as reporting last saw it."""
    account = await placed(gateway.platform, "ANA-1", "100000.00", "1020304050", full_name="Ana María Pérez")
    await deliver(gateway.platform, account)
    paid = await gateway.send(payment("ana-full", ref="ANA-1", amount="100000.00", debtor_id="1020304050"))
    assert paid.json()["status"] == "applied", paid.text
    assert (await gateway.balance("ANA-1"))[1] == "paid"
    return account.debtor_ref


async def test_an_account_a_chargeback_reopened_after_the_decision_refuses_the_erasure(gateway: Gateway) -> None:
    ana = await paid_in_full(gateway)
    charged_back = await gateway.send({**payment("cb-1", ref="ANA-1", amount="100000.00"), "type": "chargeback",
                                       "refers_to": "ana-full"})
    assert charged_back.json()["status"] == "reversed", charged_back.text
    assert (await gateway.balance("ANA-1"))[1] == "open"

    refused = await decided(gateway, ana, "ANA-1")
    assert await answers(gateway, refused) == [("debtor.erasure_refused", ["ANA-1"])]
    assert await fingerprint(gateway, "ana-full") is not None  # nothing of hers erased

    # Once the client company takes the account back, the obligation no longer keeps her data.
    await deliver(gateway.platform, AccountRecalled(account_ref="ANA-1", recalled_at=NOW))
    cleared = await decided(gateway, ana, "ANA-1")
    assert await answers(gateway, cleared) == [("debtor.erasure_confirmed", None)]
    assert await fingerprint(gateway, "ana-full") is None


async def test_a_new_account_of_the_person_placed_after_the_decision_refuses_the_erasure(gateway: Gateway) -> None:
    ana = await paid_in_full(gateway)
    again = await placed(gateway.platform, "ANA-2", "50000.00", "1020304050", full_name="Ana María Pérez")
    assert again.debtor_ref == ana
    await deliver(gateway.platform, again)
    refused = await decided(gateway, ana, "ANA-1")  # reporting knew ANA-1 only
    assert await answers(gateway, refused) == [("debtor.erasure_refused", ["ANA-2"])]
    assert await fingerprint(gateway, "ana-full") is not None


async def test_a_reopening_in_flight_when_the_erasure_checks_is_waited_for_and_refuses_it(gateway: Gateway) -> None:
    """The check takes the account's row lock, as every ledger change does: a chargeback written but not yet
    committed is waited for and seen, never read around."""
    ana = await paid_in_full(gateway)
    async with gateway.platform.db.transaction() as chargeback:
        await chargeback.execute(text(
            "UPDATE payments.accounts SET balance = 100000, status = 'open' WHERE account_ref = 'ANA-1'"))
        checking = asyncio.create_task(decided(gateway, ana, "ANA-1"))

        async def waiting_or_done() -> bool:
            return checking.done() or await someone_waits_for_a_lock(gateway)

        await eventually(waiting_or_done, timeout_s=30, message="the erasure waiting for the lock, or done")
    erasure_id = await checking
    assert await answers(gateway, erasure_id) == [("debtor.erasure_refused", ["ANA-1"])]
    assert await fingerprint(gateway, "ana-full") is not None
