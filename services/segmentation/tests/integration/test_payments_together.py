"""Payments, reversals, write-offs and recalls that arrive together are applied together (handlers.on_payments,
on_recalls: a few statements for the whole run) on a real PostgreSQL, each account as if its event had come alone:
the ledger's balance and status (a recalled account stays recalled), the outcome and the fact the model learns
from, a new assessment."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.events import (
    AccountRecalled,
    ContactDelivered,
    ContactReplied,
    PaymentApplied,
    PaymentReversedV3,
    PaymentWriteOffReversed,
    PaymentWrittenOff,
)
from recaudo_common.runtime import Platform
from segmentation import model_store

from .test_aging import CLIENT, LATE_EVENING, account, deliver, placed

pytestmark = pytest.mark.integration
MINUTE = dt.timedelta(minutes=1)


def paid(ref: str, amount: str, new_balance: str, status: str = "open",
         at: dt.datetime = LATE_EVENING) -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount), currency="COP",
                          paid_at=at, source="gateway", new_balance=Decimal(new_balance), account_status=status)


async def balances(platform: Platform) -> dict[str, tuple[Decimal, str]]:
    async with platform.db.transaction() as s:
        rows = await s.execute(text("SELECT account_ref, balance, status FROM segmentation.accounts"))
        return {r.account_ref: (r.balance, r.status) for r in rows}


async def test_a_run_of_payments_is_applied_as_each_would_be_alone(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("P-1", 45, "900000"), placed("P-2", 45, "500000"),
                             placed("P-3", 45, "700000"), placed("P-4", 45, "400000")], LATE_EVENING)
    await deliver(platform, [AccountRecalled(account_ref="P-3", recalled_at=LATE_EVENING)], LATE_EVENING)
    earlier = paid("P-4", "400000", "0", "paid", at=LATE_EVENING - MINUTE)
    await deliver(platform, [earlier], LATE_EVENING)
    assert (await balances(platform))["P-4"] == (Decimal("0"), "paid")

    # One batch in one transaction: two payments of P-1 (the run is cut where an account repeats), P-2 paid off,
    # P-3 recalled, P-4's payment charged back, and a payment of an account not placed here yet.
    batch = await deliver(platform, [
        paid("P-1", "100000", "800000"), paid("P-2", "500000", "0", "paid"), paid("P-3", "100000", "600000"),
        PaymentReversedV3(payment_id=earlier.payment_id, reversal_id=uuid.uuid4(), account_ref="P-4",
                          amount=Decimal("400000"), kind="chargeback", reversed_at=LATE_EVENING,
                          new_balance=Decimal("400000"), account_status="open", payment_amount=Decimal("400000"),
                          reversed_total=Decimal("400000")),
        paid("P-9", "50000", "150000"), paid("P-1", "200000", "600000", at=LATE_EVENING + MINUTE)],
        LATE_EVENING, together=True)

    assert await balances(platform) == {
        "P-1": (Decimal("600000"), "open"), "P-2": (Decimal("0"), "paid"), "P-3": (Decimal("600000"), "recalled"),
        "P-4": (Decimal("400000"), "open")}
    p1, p4 = await account(platform, "P-1"), await account(platform, "P-4")
    assert [trigger for trigger, _, _ in p1["history"]] == ["placement", "payment", "payment"]
    assert [trigger for trigger, _, _ in p4["history"]] == ["placement", "payment", "reversal"]
    async with platform.db.transaction() as s:
        outcomes = (await s.execute(text(
            "SELECT account_ref, amount, new_balance, account_status FROM segmentation.outcomes "
            "ORDER BY account_ref, paid_at"))).all()
        histories = {h.account_ref: h for h in await model_store.histories(s, "banco", ["P-1", "P-2", "P-4"])}
        segmented = (await s.execute(text(
            "SELECT envelope->'payload'->>'account_ref', envelope->'payload'->>'trigger', envelope->>'causation_id' "
            "FROM segmentation.outbox WHERE envelope->>'type' = 'account.segmented' "
            "AND envelope->'payload'->>'trigger' IN ('payment', 'reversal')"))).all()
    assert [tuple(o) for o in outcomes] == [
        ("P-1", Decimal("100000"), Decimal("800000"), "open"), ("P-1", Decimal("200000"), Decimal("600000"), "open"),
        ("P-2", Decimal("500000"), Decimal("0"), "paid"), ("P-3", Decimal("100000"), Decimal("600000"), "open"),
        ("P-4", Decimal("400000"), Decimal("0"), "paid"), ("P-9", Decimal("50000"), Decimal("150000"), "open")]
    assert [(f.kind, f.amount, f.closes) for f in histories["P-1"].facts] == [
        ("payment", Decimal("100000"), False), ("payment", Decimal("200000"), False)]
    assert [(f.kind, f.closes) for f in histories["P-2"].facts] == [("payment", True)]
    assert [(f.kind, f.amount) for f in histories["P-4"].facts] == [
        ("payment", Decimal("400000")), ("reversal", Decimal("400000"))]
    # Every placed account is assessed again, each decision caused by its own payment; the account not placed
    # here waits for its placement.
    caused_by = {str(m.envelope.event_id): (m.envelope.payload["account_ref"], m.envelope.type) for m in batch}
    assert sorted((ref, trigger, caused_by[cause]) for ref, trigger, cause in segmented
                  if cause in caused_by) == [
        ("P-1", "payment", ("P-1", "payment.applied")), ("P-1", "payment", ("P-1", "payment.applied")),
        ("P-2", "payment", ("P-2", "payment.applied")), ("P-3", "payment", ("P-3", "payment.applied")),
        ("P-4", "reversal", ("P-4", "payment.reversed"))]


async def test_contacts_of_one_account_in_one_batch_are_kept_in_their_order(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("C-1", 40), placed("C-2", 40)], LATE_EVENING)
    attempt = uuid.uuid4()
    await deliver(platform, [
        ContactDelivered(attempt_id=attempt, account_ref="C-1", channel="sms", delivered_at=LATE_EVENING),
        ContactDelivered(attempt_id=uuid.uuid4(), account_ref="C-2", channel="email", delivered_at=LATE_EVENING),
        ContactReplied(attempt_id=attempt, account_ref="C-1", channel="sms", replied_at=LATE_EVENING + MINUTE),
        ContactReplied(attempt_id=uuid.uuid4(), account_ref="C-2", channel="sms", replied_at=LATE_EVENING + MINUTE,
                       simulated=True)], LATE_EVENING, together=True)
    async with platform.db.transaction() as s:
        histories = {h.account_ref: h for h in await model_store.histories(s, "banco", ["C-1", "C-2"])}
    assert [(f.kind, f.channel) for f in histories["C-1"].facts] == [("delivered", "sms"), ("replied", "sms")]
    assert [(f.kind, f.channel) for f in histories["C-2"].facts] == [("delivered", "email")]


async def test_recalls_and_write_offs_in_one_batch_are_applied_as_each_would_be_alone(platform: Platform) -> None:
    await deliver(platform, [CLIENT, *(placed(f"R-{i}", 45) for i in range(1, 6))], LATE_EVENING)
    written_off = PaymentWrittenOff(write_off_id=uuid.uuid4(), account_ref="R-3", amount=Decimal("500000"),
                                    currency="COP", reason="uneconomic", source="operator",
                                    written_off_at=LATE_EVENING, new_balance=Decimal("0"),
                                    written_off_total=Decimal("500000"), account_status="written_off")
    await deliver(platform, [written_off], LATE_EVENING)
    # A recall file's accounts (one not placed here), a write-off and the reversal of another, in one transaction.
    await deliver(platform, [
        AccountRecalled(account_ref="R-1", recalled_at=LATE_EVENING),
        AccountRecalled(account_ref="R-2", recalled_at=LATE_EVENING),
        AccountRecalled(account_ref="R-9", recalled_at=LATE_EVENING),
        PaymentWriteOffReversed(account_ref="R-3", amount=Decimal("500000"), reversed_at=LATE_EVENING,
                                new_balance=Decimal("500000"), account_status="open"),
        written_off.model_copy(update={"write_off_id": uuid.uuid4(), "account_ref": "R-4"})],
        LATE_EVENING, together=True)
    assert {ref: b for ref, b in (await balances(platform)).items() if ref in ("R-3", "R-4")} == {
        "R-3": (Decimal("500000"), "open"), "R-4": (Decimal("0"), "written_off")}
    states = {ref: await account(platform, ref) for ref in ("R-1", "R-2", "R-3", "R-4", "R-5")}
    assert {ref: (a["status"], a["history"][-1][0]) for ref, a in states.items()} == {
        "R-1": ("recalled", "recall"), "R-2": ("recalled", "recall"), "R-3": ("open", "write_off_reversal"),
        "R-4": ("written_off", "write_off"), "R-5": ("open", "placement")}
    assert states["R-4"]["treatment"] == "stopped" and states["R-3"]["treatment"] != "stopped"
    async with platform.db.transaction() as s:
        histories = {h.account_ref: h for h in await model_store.histories(s, "banco", ["R-3", "R-4"])}
    assert histories["R-3"].facts == () and histories["R-4"].facts == ()  # a write-off is no payment: no fact
    # A recalled account stays recalled whatever the ledger does next.
    await deliver(platform, [written_off.model_copy(update={"write_off_id": uuid.uuid4(), "account_ref": "R-1"})],
                  LATE_EVENING, together=True)
    assert (await balances(platform))["R-1"] == (Decimal("0"), "recalled")
