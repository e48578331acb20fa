"""Account events that come in bulk are applied together on a real PostgreSQL. Restated balances (account.updated,
handlers.on_accounts_updated: a few statements for the whole run) leave the ledger exactly as the same
restatements applied one at a time: each change an adjustment, the balance and status the ledger's, an account
not opened yet opened with its restated balance. A recall file's accounts are marked in one statement."""

from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.events import AccountPlaced, AccountRecalled, AccountUpdated

from .conftest import NOW, Gateway, deliver, payment, placed
from .test_arrangements_taken_back import agree

pytestmark = pytest.mark.integration


def restated(placement: AccountPlaced, balance: str) -> AccountUpdated:
    return AccountUpdated(**{**placement.model_dump(), "balance": Decimal(balance)},
                          previous_balance=placement.balance)


async def ledger(gateway: Gateway, ref: str) -> tuple[Decimal, str, list[tuple[str, Decimal]]]:
    async with gateway.platform.db.transaction() as s:
        balance, status = (await s.execute(text(
            "SELECT balance, status FROM payments.accounts WHERE account_ref = :r"), {"r": ref})).one()
        entries = (await s.execute(text(
            "SELECT kind, amount FROM payments.ledger_entries WHERE account_ref = :r ORDER BY id"), {"r": ref})).all()
    return balance, status, [(kind, amount) for kind, amount in entries]


async def test_a_run_of_restatements_leaves_the_ledger_as_one_at_a_time_does(gateway: Gateway) -> None:
    for prefix in ("B", "C"):
        placements = [await placed(gateway.platform, f"{prefix}-{i}", debtor_id=f"{prefix}{i}") for i in (1, 2, 3)]
        await deliver(gateway.platform, *placements)
        assert (await gateway.send(payment(f"{prefix}-pay-1", ref=f"{prefix}-1"))).json()["status"] == "applied"
        assert (await gateway.send(payment(f"{prefix}-pay-2", ref=f"{prefix}-2", amount="100000.00"))
                ).json()["status"] == "applied"
        late = await placed(gateway.platform, f"{prefix}-4", debtor_id=f"{prefix}4")
        updates = [restated(placements[0], "120000.00"), restated(placements[1], "150000.00"),
                   restated(placements[2], "100000.00"), restated(late, "80000.00")]
        # B's restatements as one batch in one transaction, C's one at a time.
        await deliver(gateway.platform, *updates, together=prefix == "B", one_by_one=prefix == "C")

    expected = {
        "1": (Decimal("90000.00"), "open", [("placement", Decimal("100000.00")), ("payment", Decimal("-30000.00")),
                                             ("adjustment", Decimal("20000.00"))]),
        "2": (Decimal("50000.00"), "open", [("placement", Decimal("100000.00")), ("payment", Decimal("-100000.00")),
                                            ("adjustment", Decimal("50000.00"))]),  # paid off, then owed again
        "3": (Decimal("100000.00"), "open", [("placement", Decimal("100000.00"))]),  # unchanged: no adjustment
        "4": (Decimal("80000.00"), "open", [("placement", Decimal("80000.00"))]),  # opened at its restated balance
    }
    for suffix, state in expected.items():
        assert await ledger(gateway, f"B-{suffix}") == state
        assert await ledger(gateway, f"C-{suffix}") == state
    async with gateway.platform.db.transaction() as s:
        debtors = dict((await s.execute(text(
            "SELECT account_ref, debtor_ref FROM payments.accounts WHERE account_ref LIKE 'B-%' "
            "AND debtor_id IS NULL"))).all())
    assert set(debtors) == {"B-1", "B-2", "B-3", "B-4"} and len(set(debtors.values())) == 4  # kept by pseudonym


async def test_a_recall_file_marks_its_accounts_together(gateway: Gateway) -> None:
    placements = [await placed(gateway.platform, f"K-{i}", debtor_id=f"K{i}") for i in (1, 2, 3)]
    await deliver(gateway.platform, *placements)
    await deliver(gateway.platform, *(AccountRecalled(account_ref=ref, recalled_at=NOW) for ref in ("K-1", "K-2", "K-9")),
                  together=True)
    async with gateway.platform.db.transaction() as s:
        recalled = dict((await s.execute(text(
            "SELECT account_ref, recalled FROM payments.accounts WHERE account_ref LIKE 'K-%'"))).all())
    assert recalled == {"K-1": True, "K-2": True, "K-3": False}


async def adjusted(gateway: Gateway) -> dict[str, tuple[str, str, str]]:
    """payment.adjusted as payments' outbox holds it, by account: amount, new balance, status."""
    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text(
            "SELECT envelope->'payload' FROM payments.outbox WHERE envelope->>'type' = 'payment.adjusted'"))).all()
    return {p["account_ref"]: (p["amount"], p["new_balance"], p["account_status"]) for (p,) in rows}


async def test_each_restatement_tells_the_ledgers_word_after_it(gateway: Gateway) -> None:
    """A paid account owed again is open, a settled one stays settled, and both say so: segmentation and outreach
    learn of it only from this event (the ledger's status and balance are not theirs to work out)."""
    paid_off, unchanged = [await placed(gateway.platform, ref, debtor_id=ref) for ref in ("D-1", "D-2")]
    await deliver(gateway.platform, paid_off, unchanged)
    assert (await gateway.send(payment("d-pay-1", ref="D-1", amount="100000.00"))).json()["status"] == "applied"
    await agree(gateway, "A-1", "settlement", ("2026-04-15", "70000.00"))
    settled = await gateway.manual("finiquito-d", {"account_ref": "A-1", "amount": "70000.00",
                                                   "paid_at": "2026-03-31T14:00:00+00:00"})
    assert settled.json()["account_status"] == "settled", settled.text
    a1 = await placed(gateway.platform, "A-1")
    await deliver(gateway.platform, restated(paid_off, "120000.00"), restated(unchanged, "100000.00"),
                  restated(a1, "130000.00"), together=True)
    assert await adjusted(gateway) == {"D-1": ("20000.00", "20000.00", "open"),
                                       "A-1": ("30000.00", "30000.00", "settled")}
    assert (await ledger(gateway, "A-1"))[:2] == (Decimal("30000.00"), "settled")
