"""The debtor page's offers through outreach's real HTTP app and PostgreSQL (#21): paying in full, a settlement
capped at the client company's largest discount, and an instalment plan whose number of instalments the debtor
chooses within the client company's limits, shown instalment by instalment before it is confirmed and asked of
payments with that schedule; a count outside the limits is refused and asks nothing."""

import re
import uuid
from decimal import Decimal

import pytest

from outreach import store
from outreach.domain.templates import offer_text
from recaudo_common.events import ArrangementBroken, ArrangementMade, Instalment
from recaudo_common.instalments import schedule

from .conftest import Outreach, client_event, segmented
from .test_debtor_page import HTML, link, proof_of

pytestmark = pytest.mark.integration


async def requests(o: Outreach) -> list[dict[str, object]]:
    rows = await o.sql("SELECT envelope FROM outreach.outbox WHERE envelope->>'type' = 'arrangement.requested' "
                       "ORDER BY id")
    return [r[0]["payload"] for r in rows]


async def test_the_debtor_chooses_six_instalments_sees_each_then_confirms(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("Q-1", balance="2500000"), segmented("Q-1", offer="instalment_plan"))
    path = await link(outreach, "Q-1")
    page = await outreach.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert page.status_code == 200 and "Acuerdo de pago en cuotas" in page.text and "Pagar el total" in page.text
    options = re.findall(r'<option value="(\d+)"', page.text)
    assert options == [str(n) for n in range(2, 13)]  # the defaults: 2 to 12, the debtor chooses
    assert "6 cuotas mensuales de $416.666,66" in page.text
    proof = proof_of(page.text)
    preview = await outreach.http.post(f"{path}/plan", headers=HTML, data={"proof": proof, "instalments": "6"})
    assert preview.status_code == 200 and "Su plan de 6 cuotas" in preview.text
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", preview.text)
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [r[2] for r in rows] == ["$416.666,66"] * 5 + ["$416.666,70"]  # the remainder on the last
    assert 'id="plan-total">$2.500.000,00<' in preview.text
    assert await requests(outreach) == []  # seeing the plan asks nothing of payments
    confirmed = await outreach.http.post(f"{path}/arrangement", headers=HTML, data={
        "proof": proof_of(preview.text), "offer": "instalment_plan", "instalments": "6"})
    assert confirmed.status_code == 200 and "del plan de 6 cuotas por $2.500.000,00" in confirmed.text
    [request] = await requests(outreach)
    assert request["kind"] == "instalment_plan"
    amounts = [Decimal(i["amount"]) for i in request["instalments"]]  # type: ignore[attr-defined]
    assert len(amounts) == 6 and sum(amounts) == Decimal("2500000") and amounts[-1] == Decimal("416666.70")
    dates = [i["due_date"] for i in request["instalments"]]  # type: ignore[attr-defined]
    assert dates == sorted(dates) and len(set(dates)) == 6


async def test_counts_outside_the_client_company_limits_are_refused(outreach: Outreach) -> None:
    limited = client_event().model_copy(update={"instalments_min": 3, "instalments_max": 6,
                                                "min_instalment_amount": Decimal("400000"),
                                                "max_discount_pct": Decimal("15")})
    await outreach.deliver(limited)
    await outreach.deliver(await outreach.placed("Q-2", balance="1500000"), segmented("Q-2", offer="instalment_plan"))
    path = await link(outreach, "Q-2")
    page = await outreach.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert re.findall(r'<option value="(\d+)"', page.text) == ["3"]  # 4 would be 375.000 each, under 400.000
    proof = proof_of(page.text)
    for count in ("2", "4", "12", "x"):
        preview = await outreach.http.post(f"{path}/plan", headers=HTML, data={"proof": proof, "instalments": count})
        assert preview.status_code == 422, count
        refused = await outreach.http.post(f"{path}/arrangement", data={
            "proof": proof, "offer": "instalment_plan", "instalments": count})
        assert refused.status_code == 422
        assert refused.json()["code"] in {"offer_not_available", "invalid_instalments"}
    assert await requests(outreach) == []

    await outreach.deliver(await outreach.placed("Q-3", balance="1000000"),
                           segmented("Q-3", offer="settlement", discount="30"))
    page = await outreach.http.post(await link(outreach, "Q-3"), data={"digits": "304050"}, headers=HTML)
    assert "$850.000,00 (15 % de descuento)" in page.text  # the strategy's 30 % capped at the client's 15 %


async def test_a_ceiling_lowered_under_a_strategy_in_force_caps_the_messages_and_the_page(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("Q-4", balance="1000000"),
                           segmented("Q-4", offer="settlement", discount="30"))
    await outreach.deliver(client_event().model_copy(update={"max_discount_pct": Decimal("12.5")}))
    async with outreach.platform.db.transaction() as s:
        debtor = await store.contact_context(s, "banco", "Q-4", outreach.clock.now)
    assert debtor is not None and debtor.offer_discount_pct == Decimal("12.5")
    assert "(12,5 % de descuento)" in offer_text(debtor.offer, debtor.offer_discount_pct, debtor.balance,
                                                 debtor.currency, debtor.locale)  # what a message says
    page = await outreach.http.post(await link(outreach, "Q-4"), data={"digits": "304050"}, headers=HTML)
    assert "$875.000,00 (12,5 % de descuento)" in page.text


async def test_under_a_plan_the_page_shows_it_and_offers_no_other_until_it_is_broken(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("Q-5", balance="2500000"), segmented("Q-5", offer="instalment_plan"))
    path = await link(outreach, "Q-5")
    six = schedule(Decimal("2500000"), 6, outreach.clock.now.date())
    plan_id = uuid.uuid4()
    await outreach.deliver(ArrangementMade(
        arrangement_id=plan_id, account_ref="Q-5", kind="instalment_plan", total_amount=Decimal("2500000"),
        instalments=[Instalment(due_date=d, amount=a) for d, a in six], made_at=outreach.clock.now,
        source="debtor_page"))
    page = await outreach.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert "Su acuerdo de pago en 6 cuotas" in page.text and "<option" not in page.text
    assert page.text.count("$416.666,66") == 5 and "$416.666,70" in page.text and "Pagar el total" in page.text
    again = await outreach.http.post(f"{path}/arrangement", data={
        "proof": proof_of(page.text), "offer": "instalment_plan", "instalments": "6"})
    assert again.status_code == 409 and again.json()["code"] == "arrangement_exists"
    assert await requests(outreach) == []

    await outreach.deliver(ArrangementBroken(arrangement_id=plan_id, account_ref="Q-5", broken_at=outreach.clock.now,
                                             missed_instalments=2))
    page = await outreach.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert "Su acuerdo de pago" not in page.text and "Acuerdo de pago en cuotas" in page.text  # offered again
