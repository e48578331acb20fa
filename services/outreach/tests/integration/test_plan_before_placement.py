"""The ledger's and a plan's word reaching outreach before the account's placement (payments reads the account topic in
its own group and may answer an operator's plan, a payment or a restatement while outreach is behind on a large
upload), against a real PostgreSQL: the debtor is treated as if the events had come in the ledger's order. A plan
agreed first is shown on the debtor page and no other is offered; a part payment is the balance said and leaves the
debtor in peace for a cadence; a restated balance owed again is worked, a settled one never."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from outreach import store
from recaudo_common.events import ArrangementBroken, ArrangementMade, Instalment, PaymentAdjusted, PaymentApplied
from recaudo_common.instalments import schedule

from .conftest import Outreach, segmented
from .test_debtor_page import HTML, link, proof_of

pytestmark = pytest.mark.integration


def plan(o: Outreach, ref: str, balance: str = "2500000") -> ArrangementMade:
    six = schedule(Decimal(balance), 6, o.clock.now.date())
    return ArrangementMade(arrangement_id=uuid.uuid4(), account_ref=ref, kind="instalment_plan",
                           total_amount=Decimal(balance), instalments=[Instalment(due_date=d, amount=a) for d, a in six],
                           made_at=o.clock.now, source="operator")


def paid(o: Outreach, ref: str, amount: str, left: str, status: str = "open") -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount), currency="COP",
                          paid_at=o.clock.now, source="gateway", new_balance=Decimal(left),
                          account_status=status)  # type: ignore[arg-type]


def adjusted(o: Outreach, ref: str, amount: str, left: str, status: str) -> PaymentAdjusted:
    return PaymentAdjusted(account_ref=ref, amount=Decimal(amount), currency="COP", adjusted_at=o.clock.now,
                           new_balance=Decimal(left), account_status=status)  # type: ignore[arg-type]


async def balance_said(o: Outreach, ref: str) -> tuple[str, Decimal]:
    async with o.platform.db.transaction() as s:
        debtor = await store.contact_context(s, "banco", ref, o.clock.now)
    assert debtor is not None
    return debtor.account_status, debtor.balance


async def test_a_plan_agreed_before_the_placement_is_shown_and_no_other_is_offered(outreach: Outreach) -> None:
    await outreach.deliver(plan(outreach, "B-1"))
    await outreach.deliver(await outreach.placed("B-1", balance="2500000"), segmented("B-1", offer="instalment_plan"))
    path = await link(outreach, "B-1")
    page = await outreach.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert "Su acuerdo de pago en 6 cuotas" in page.text and "<option" not in page.text
    again = await outreach.http.post(f"{path}/arrangement", data={
        "proof": proof_of(page.text), "offer": "instalment_plan", "instalments": "6"})
    assert again.status_code == 409 and again.json()["code"] == "arrangement_exists"


async def test_a_plan_broken_before_the_placement_leaves_the_page_offering_again(outreach: Outreach) -> None:
    made = plan(outreach, "B-2")
    await outreach.deliver(made, ArrangementBroken(arrangement_id=made.arrangement_id, account_ref="B-2",
                                                   broken_at=outreach.clock.now, missed_instalments=2))
    await outreach.deliver(await outreach.placed("B-2", balance="2500000"), segmented("B-2", offer="instalment_plan"))
    page = await outreach.http.post(await link(outreach, "B-2"), data={"digits": "304050"}, headers=HTML)
    assert "Su acuerdo de pago" not in page.text and "Acuerdo de pago en cuotas" in page.text


async def test_a_part_payment_before_the_placement_is_the_balance_said_and_waits_a_cadence(
        outreach: Outreach) -> None:
    await outreach.deliver(paid(outreach, "B-3", "500000", "1000000"))
    await outreach.deliver(await outreach.placed("B-3", balance="1500000"), segmented("B-3", cadence_days=3))
    assert await balance_said(outreach, "B-3") == ("open", Decimal("1000000"))  # the ledger's, not the placed one
    [first] = await outreach.sql("SELECT min(scheduled_at) FROM outreach.attempts WHERE account_ref = 'B-3' "
                                 "AND status = 'scheduled'")
    assert first[0] >= outreach.clock.now + dt.timedelta(days=3)  # left in peace a cadence after paying


async def test_a_restatement_before_the_placement_works_a_debtor_owed_again_and_never_a_settled_one(
        outreach: Outreach) -> None:
    await outreach.deliver(paid(outreach, "B-4", "1500000", "0", "paid"),
                           paid(outreach, "B-5", "1000000", "500000", "settled"))
    await outreach.deliver(adjusted(outreach, "B-4", "20000", "20000", "open"),
                           adjusted(outreach, "B-5", "30000", "530000", "settled"))
    await outreach.deliver(await outreach.placed("B-4"), segmented("B-4"),
                           await outreach.placed("B-5", debtor="78"), segmented("B-5"))
    assert await balance_said(outreach, "B-4") == ("open", Decimal("20000"))
    assert "scheduled" in {s for _, s in await outreach.attempts("B-4")}
    assert await balance_said(outreach, "B-5") == ("settled", Decimal("530000"))
    assert await outreach.attempts("B-5") == []


async def test_a_message_under_a_plan_offers_no_other_arrangement(outreach: Outreach) -> None:
    # The page offers no other arrangement while one stands (409 arrangement_exists): nor does a message. While the
    # plan stands no collection message goes at all (the collection hold, outreach/holds.py); one that goes once
    # the hold ended by itself (its last instalment's deadline passed, no verdict came) offers no other either.
    await outreach.deliver(plan(outreach, "B-6", "1500000"))
    await outreach.deliver(await outreach.placed("B-6"), segmented("B-6", offer="settlement", discount="20"),
                           await outreach.placed("B-7", debtor="78"), segmented("B-7", offer="settlement", discount="20"))
    assert await outreach.tick() == 2

    async def bodies() -> dict[str, str]:
        return dict(await outreach.sql("SELECT a.account_ref, m.body FROM outreach.sandbox_messages m "
                                       "JOIN outreach.attempts a ON a.id = m.attempt_id"))
    assert "B-6" not in await bodies()
    [(reasons,)] = await outreach.sql("SELECT d.reasons FROM outreach.decisions d JOIN outreach.attempts a "
                                      "ON a.id = d.attempt_id WHERE a.account_ref = 'B-6'")
    assert reasons[0] == "arrangement_standing"
    assert "Cancele hoy con $1.200.000,00 (20 % de descuento)" in (await bodies())["B-7"]  # no plan: the offer
    last_due = max(i.due_date for i in plan(outreach, "B-6").instalments)
    for _ in range(8):  # held again after each instalment's deadline while the plan stands
        [(due,)] = await outreach.sql("SELECT min(scheduled_at) FROM outreach.attempts WHERE account_ref = 'B-6' "
                                      "AND status = 'scheduled'")
        outreach.clock.now = due
        await outreach.tick()
        if "B-6" in await bodies():
            break
    assert outreach.clock.now.date() > last_due
    body = (await bodies())["B-6"]
    assert "1.500.000,00" in body and "descuento" not in body
