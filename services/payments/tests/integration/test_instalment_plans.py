"""Instalment plans on payments' real API and PostgreSQL (#21): a plan within the client company's limits, each
instalment a promise with its own payment link; payments toward the plan, partial ones included, allocated to its
instalments in order; an instalment missed past its grace day broken, the second missed one breaking the plan
(its other instalments cancelled, the account reverting, open, its balance what was not paid); the whole plan paid
closes it; a plan outside the client company's limits refused with the reason."""

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.promises.handlers import evaluate_due_promises
from recaudo_common.events import ClientUpdated
from recaudo_common.instalments import schedule
from recaudo_common.payment_links import read_token

from .conftest import NOW, Clock, Gateway, deliver, payment

pytestmark = pytest.mark.integration
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
SIX = schedule(Decimal("100000.00"), 6, NOW.astimezone(BOGOTA).date())  # 16666.66 x 5 + 16666.70


def plan_body(instalments: list[tuple[dt.date, Decimal]]) -> dict[str, Any]:
    return {"kind": "instalment_plan",
            "instalments": [{"due_date": d.isoformat(), "amount": str(a)} for d, a in instalments]}


def after_grace(due: dt.date) -> dt.datetime:
    """The first minute after an instalment's grace day, in the client company's time zone."""
    return dt.datetime.combine(due + dt.timedelta(days=2), dt.time(0, 1), BOGOTA)


async def plan_of(gateway: Gateway, ref: str) -> dict[str, Any]:
    answer = await gateway.http.get(f"/v1/clients/banco/accounts/{ref}/arrangements", headers=gateway.as_operator())
    assert answer.status_code == 200, answer.text
    latest: dict[str, Any] = answer.json()["items"][0]
    return latest


async def test_six_instalments_two_paid_in_parts_one_missed_then_another_breaks_the_plan(gateway: Gateway) -> None:
    made = await gateway.http.post("/v1/clients/banco/accounts/A-1/arrangements", json=plan_body(SIX),
                                   headers=gateway.as_operator())
    assert made.status_code == 201, made.text
    assert made.headers["Location"] == "/v1/clients/banco/accounts/A-1/arrangements"  # where it is listed
    plan = await plan_of(gateway, "A-1")
    assert (plan["status"], plan["total_amount"], len(plan["instalments"])) == ("active", "100000.00", 6)
    links = [i["payment_url"] for i in plan["instalments"]]
    assert len(set(links)) == 6  # each instalment its own link, to the account's debtor page
    target = read_token(links[2].rsplit("/pay/", 1)[1], secret=gateway.platform.settings.link_secret, now=NOW)
    assert target is not None and (target.client, target.account_ref) == ("banco", "A-1")

    # Two instalments paid in three payments: the partial ones count toward the plan, in order.
    assert (await gateway.send(payment("p-1", amount="10000.00"))).status_code == 200
    plan = await plan_of(gateway, "A-1")
    assert [(i["paid"], i["status"]) for i in plan["instalments"][:2]] == [("10000.00", "pending"),
                                                                          ("0.00", "pending")]
    await gateway.send(payment("p-2", amount="15000.00"))
    await gateway.send(payment("p-3", amount="8333.32"))
    plan = await plan_of(gateway, "A-1")
    assert [i["status"] for i in plan["instalments"]] == ["kept", "kept"] + ["pending"] * 4
    assert [i["paid"] for i in plan["instalments"][:3]] == ["16666.66", "16666.66", "0.00"]
    assert plan["paid_amount"] == "33333.32" and plan["instalments"][0]["payment_url"] is None  # paid: no link

    # The third is missed: broken one minute after its grace day, the plan survives one missed instalment.
    assert await evaluate_due_promises(gateway.platform.db, now=after_grace(SIX[2][0]) - dt.timedelta(minutes=2)) \
        == {"kept": 0, "broken": 0}
    assert await evaluate_due_promises(gateway.platform.db, now=after_grace(SIX[2][0])) == {"kept": 0, "broken": 1}
    plan = await plan_of(gateway, "A-1")
    assert plan["status"] == "active" and plan["instalments"][2]["status"] == "broken"
    assert await gateway.balance("A-1") == (Decimal("66666.68"), "open", Decimal("66666.68"))

    # The fourth missed too: the plan is broken, the rest cancelled, the account reverts (open, what is left).
    assert await evaluate_due_promises(gateway.platform.db, now=after_grace(SIX[3][0])) == {"kept": 0, "broken": 1}
    plan = await plan_of(gateway, "A-1")
    assert plan["status"] == "broken" and plan["decided_at"] is not None
    assert [i["status"] for i in plan["instalments"]] == ["kept", "kept", "broken", "broken", "cancelled",
                                                         "cancelled"]
    assert all(i["payment_url"] is None for i in plan["instalments"])
    assert await gateway.balance("A-1") == (Decimal("66666.68"), "open", Decimal("66666.68"))
    async with gateway.platform.db.transaction() as s:
        broken = (await s.execute(text(
            "SELECT envelope->'payload'->>'missed_instalments' FROM payments.outbox "
            "WHERE envelope->>'type' = 'arrangement.broken' AND envelope->>'key' = 'banco/A-1'"))).scalars().all()
    assert broken == ["2"]
    assert await evaluate_due_promises(gateway.platform.db, now=after_grace(SIX[5][0])) == {"kept": 0, "broken": 0}


async def test_the_whole_plan_paid_closes_it_and_the_account(gateway: Gateway) -> None:
    assert (await gateway.http.post("/v1/clients/banco/accounts/A-2/arrangements", json=plan_body(SIX),
                                    headers=gateway.as_operator())).status_code == 201
    await gateway.send(payment("w-1", ref="A-2", amount="60000.00"))
    await gateway.send(payment("w-2", ref="A-2", amount="40000.00"))
    plan = await plan_of(gateway, "A-2")
    assert plan["status"] == "kept" and [i["status"] for i in plan["instalments"]] == ["kept"] * 6
    assert [i["paid"] for i in plan["instalments"]] == [str(a) for _, a in SIX]
    assert await gateway.balance("A-2") == (Decimal("0.00"), "paid", Decimal("0.00"))
    assert (await gateway.http.get("/v1/clients/banco/accounts/A-9/arrangements",
                                   headers=gateway.as_operator())).json() == {"items": []}


async def test_a_plan_outside_the_client_company_limits_is_refused_with_the_reason(gateway: Gateway) -> None:
    await deliver(gateway.platform, ClientUpdated(
        slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
        default_authorised_channels=["sms"], instalments_min=3, instalments_max=6,
        min_instalment_amount=Decimal("20000")))
    today = NOW.astimezone(BOGOTA).date()
    for instalments, reason in [(schedule(Decimal("100000.00"), 2, today), "3 to 6 instalments"),
                                (schedule(Decimal("100000.00"), 6, today), "at least 20000"),
                                (schedule(Decimal("100000.00"), 12, today), "3 to 6 instalments")]:
        answer = await gateway.http.post("/v1/clients/banco/accounts/A-1/arrangements", json=plan_body(instalments),
                                         headers=gateway.as_operator())
        assert answer.status_code == 422 and answer.json()["code"] == "invalid_arrangement", answer.text
        assert reason in answer.json()["detail"]
    too_many = await gateway.http.post("/v1/clients/banco/accounts/A-1/arrangements", headers=gateway.as_operator(),
                                       json=plan_body(schedule(Decimal("100000.00"), 13, today)))
    assert too_many.status_code == 422
    accepted = await gateway.http.post("/v1/clients/banco/accounts/A-1/arrangements", headers=gateway.as_operator(),
                                       json=plan_body(schedule(Decimal("100000.00"), 4, today)))
    assert accepted.status_code == 201, accepted.text


async def test_a_plan_asking_more_than_the_balance_is_refused_and_stores_nothing(gateway: Gateway) -> None:
    today = NOW.astimezone(BOGOTA).date()
    answer = await gateway.http.post("/v1/clients/banco/accounts/A-1/arrangements", headers=gateway.as_operator(),
                                     json=plan_body(schedule(Decimal("150000.00"), 3, today)))
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_arrangement"), answer.text
    assert "more than the balance 100000.00" in answer.json()["detail"]
    assert (await gateway.http.get("/v1/clients/banco/accounts/A-1/arrangements",
                                   headers=gateway.as_operator())).json() == {"items": []}


async def test_a_plan_whose_last_instalment_is_missed_is_broken_not_kept(gateway: Gateway) -> None:
    three = schedule(Decimal("90000.00"), 3, NOW.astimezone(BOGOTA).date())
    assert (await gateway.http.post("/v1/clients/banco/accounts/A-1/arrangements", json=plan_body(three),
                                    headers=gateway.as_operator())).status_code == 201
    await gateway.send(payment("l-1", amount="60000.00"))  # the first two instalments, on time
    plan = await plan_of(gateway, "A-1")
    assert (plan["status"], [i["status"] for i in plan["instalments"]]) == ("active", ["kept", "kept", "pending"])
    # The last is missed: nothing after it could make the plan whole, so it is broken (it was announced kept).
    assert await evaluate_due_promises(gateway.platform.db, now=after_grace(three[2][0])) == {"kept": 0, "broken": 1}
    plan = await plan_of(gateway, "A-1")
    assert (plan["status"], [i["status"] for i in plan["instalments"]]) == ("broken", ["kept", "kept", "broken"])
    assert await gateway.balance("A-1") == (Decimal("40000.00"), "open", Decimal("40000.00"))
    async with gateway.platform.db.transaction() as s:
        decided = (await s.execute(text(
            "SELECT envelope->>'type' FROM payments.outbox WHERE envelope->>'type' LIKE 'arrangement.%' "
            "AND envelope->>'key' = 'banco/A-1' ORDER BY id"))).scalars().all()
    assert decided == ["arrangement.made", "arrangement.broken"]


async def test_a_missed_settlement_is_broken_and_a_later_payment_forgives_nothing(
        clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    due = dt.date(2026, 4, 15)
    body = {"kind": "settlement", "instalments": [{"due_date": due.isoformat(), "amount": "70000.00"}]}
    url = "/v1/clients/banco/accounts/A-1/arrangements"
    assert (await gateway.http.post(url, json=body, headers=gateway.as_operator())).status_code == 201
    # The settlement's amount paid after its deadline, before the evaluator has run: no settlement, no discount.
    clock.now = after_grace(due)
    late = payment("late-1", amount="70000.00", paid_at=clock.now.isoformat())
    assert (await gateway.send(late, at=clock.now)).json()["status"] == "applied"
    assert await gateway.balance("A-1") == (Decimal("30000.00"), "open", Decimal("30000.00"))
    plan = await plan_of(gateway, "A-1")
    assert (plan["status"], [i["status"] for i in plan["instalments"]]) == ("broken", ["broken"])
    # Broken, it no longer stands in the way of another arrangement.
    assert (await gateway.http.post(url, json={"kind": "settlement", "instalments": [
        {"due_date": "2026-04-30", "amount": "20000.00"}]}, headers=gateway.as_operator())).status_code == 201


async def test_a_missed_settlement_is_broken_by_the_evaluator(gateway: Gateway) -> None:
    due = dt.date(2026, 4, 15)
    assert (await gateway.http.post("/v1/clients/banco/accounts/A-2/arrangements", headers=gateway.as_operator(),
                                    json={"kind": "settlement", "instalments": [
                                        {"due_date": due.isoformat(), "amount": "70000.00"}]})).status_code == 201
    assert await evaluate_due_promises(gateway.platform.db, now=after_grace(due)) == {"kept": 0, "broken": 1}
    plan = await plan_of(gateway, "A-2")
    assert plan["status"] == "broken" and plan["decided_at"] is not None
    assert await gateway.balance("A-2") == (Decimal("100000.00"), "open", Decimal("100000.00"))


async def test_a_payment_learnt_of_after_the_plan_counts_though_stamped_earlier_that_day(gateway: Gateway) -> None:
    # The plan is made at 10:00 in Bogotá (NOW); a bank's file, read later, says the debtor paid that day: its
    # line is stamped at noon, which may be before or after the plan. Learnt of after the plan, it counts.
    three = schedule(Decimal("90000.00"), 3, NOW.astimezone(BOGOTA).date())
    assert (await gateway.http.post("/v1/clients/banco/accounts/A-1/arrangements", json=plan_body(three),
                                    headers=gateway.as_operator())).status_code == 201
    stamped_before = (NOW - dt.timedelta(hours=3)).isoformat()
    assert (await gateway.send(payment("b-1", amount="30000.00", paid_at=stamped_before))).status_code == 200
    plan = await plan_of(gateway, "A-1")
    assert [i["status"] for i in plan["instalments"]] == ["kept", "pending", "pending"]
    assert plan["paid_amount"] == "30000.00"
