"""A deposit an operator recorded by hand (the debtor sent the slip) and then the bank's statement bringing it, on the
real API and PostgreSQL: the statement's line is not applied a second time; it waits in suspense
(`possible_duplicate`) for an operator, who keeps one of the two. A second deposit of the same amount, or one to
another account or of another amount, is applied as any line; so is one posted long after. The other way round, a
deposit recorded by hand that a statement already brought is refused until the operator says it is another one."""

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from payments.settings import PaymentsSettings

from .conftest import READ_AT, Clock, Gateway, gateway_at
from .test_asobancaria_files import recaudo, upload

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(database_url: str, payments_settings: PaymentsSettings) -> AsyncIterator[Gateway]:
    """The files below are read after the days they say were paid (a line dated after its reading is refused)."""
    async with gateway_at(database_url, payments_settings, lambda: READ_AT) as opened:
        yield opened


HEADER = "Fecha;Referencia;Valor;Comprobante\n"


async def statement(gateway: Gateway, name: str, *lines: str) -> dict[str, Any]:
    answer = await gateway.http.post("/v1/clients/banco/payments/files", headers=gateway.as_operator(),
                                     files={"file": (name, (HEADER + "".join(f"{line}\n" for line in lines)).encode())})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def recorded_by_hand(gateway: Gateway, key: str, ref: str, amount: str, paid_at: str) -> str:
    answer = await gateway.manual(key, {"account_ref": ref, "amount": amount, "paid_at": paid_at,
                                        "method": "consignacion", "reference": "Bancolombia 88412093"})
    assert (answer.status_code, answer.json()["status"]) == (200, "applied"), answer.text
    found: str = answer.json()["id"]
    return found


async def test_the_statement_line_of_a_deposit_recorded_by_hand_waits_for_an_operator(gateway: Gateway) -> None:
    by_hand = await recorded_by_hand(gateway, "consignacion-0001", "A-1", "25000.00", "2026-04-03T16:40:00-05:00")
    assert await gateway.balance("A-1") == (Decimal("75000.00"), "open", Decimal("75000.00"))
    # Posted the next business day; a second deposit of the same amount the same day, and other lines.
    body = await statement(gateway, "extracto.csv", "06/04/2026;A-1;25.000,00;TX-1", "06/04/2026;A-1;25.000,00;TX-2",
                           "06/04/2026;A-1;7.000,00;TX-3", "06/04/2026;A-2;25.000,00;TX-4")
    assert [(r["row"], r["status"], r.get("reason")) for r in body["results"]] == [
        (2, "unmatched", "possible_duplicate"), (3, "applied", None), (4, "applied", None), (5, "applied", None)]
    # 25,000 by hand, then 25,000 and 7,000 from the bank: the deposit recorded by hand is not paid twice.
    assert await gateway.balance("A-1") == (Decimal("43000.00"), "open", Decimal("43000.00"))
    queue = (await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=gateway.as_operator())).json()
    [held] = queue["items"]
    assert (held["reason"], held["amount"], held["reference"]) == ("possible_duplicate", "25000.00", "A-1")

    # The operator keeps the bank's record: the payment recorded by hand reversed, the line assigned.
    reversal = await gateway.http.post(f"/v1/clients/banco/payments/{by_hand}/reversal",
                                       json={"reason": "el extracto trae la consignación"},
                                       headers={**gateway.as_operator(), "Idempotency-Key": "duplicado-0001"})
    assert reversal.status_code == 200, reversal.text
    assigned = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{held['id']}/assign",
                                       json={"account_ref": "A-1"}, headers=gateway.as_operator())
    assert (assigned.status_code, assigned.json()["status"]) == (200, "applied")
    assert await gateway.balance("A-1") == (Decimal("43000.00"), "open", Decimal("43000.00"))
    # The same statement again answers what it answered and holds nothing more.
    again = await gateway.http.post("/v1/clients/banco/payments/files", headers=gateway.as_operator(), files={
        "file": ("extracto.csv", (HEADER + "06/04/2026;A-1;25.000,00;TX-1\n06/04/2026;A-1;25.000,00;TX-2\n"
                                  "06/04/2026;A-1;7.000,00;TX-3\n06/04/2026;A-2;25.000,00;TX-4\n").encode())})
    assert (again.status_code, again.json()["id"]) == (200, body["id"])


async def test_a_line_posted_long_after_or_before_the_deposit_recorded_by_hand_is_applied(gateway: Gateway) -> None:
    await recorded_by_hand(gateway, "consignacion-0002", "A-2", "10000.00", "2026-04-03T09:00:00-05:00")
    body = await statement(gateway, "extracto.csv", "02/04/2026;A-2;10.000,00;TX-8", "08/04/2026;A-2;10.000,00;TX-9")
    assert [r["status"] for r in body["results"]] == ["applied", "applied"]
    assert await gateway.balance("A-2") == (Decimal("70000.00"), "open", Decimal("70000.00"))


async def test_an_asobancaria_line_is_held_the_same_way(gateway: Gateway) -> None:
    await recorded_by_hand(gateway, "consignacion-0003", "A-1", "30000.00", "2026-04-05T11:00:00-05:00")
    answer = await upload(gateway, recaudo([[("A-1", 3_000_000)]]))  # collected on 2026-04-05
    assert answer.status_code == 201, answer.text
    assert [(r["status"], r.get("reason")) for r in answer.json()["results"]] == [
        ("unmatched", "possible_duplicate")]
    assert await gateway.balance("A-1") == (Decimal("70000.00"), "open", Decimal("70000.00"))


async def test_a_deposit_the_statement_already_brought_is_refused_when_recorded_by_hand(gateway: Gateway) -> None:
    body = await statement(gateway, "extracto.csv", "06/04/2026;A-2;15.000,00;TX-20")
    assert [r["status"] for r in body["results"]] == ["applied"]
    slip = {"account_ref": "A-2", "amount": "15000.00", "paid_at": "2026-04-04T10:00:00-05:00",
            "method": "consignacion"}
    refused = await gateway.manual("consignacion-0004", slip)
    assert (refused.status_code, refused.json()["code"]) == (409, "possible_duplicate"), refused.text
    assert "another_deposit" in refused.json()["detail"]
    assert await gateway.balance("A-2") == (Decimal("85000.00"), "open", Decimal("85000.00"))  # nothing applied
    # The operator checked: it is another deposit. The same key, now saying so, applies it once.
    confirmed = await gateway.manual("consignacion-0004", {**slip, "another_deposit": True})
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "applied"), confirmed.text
    assert await gateway.balance("A-2") == (Decimal("70000.00"), "open", Decimal("70000.00"))
    # Another deposit answers no line: one more of the same amount is refused again; one made after the line's
    # days, or of another amount, is not.
    again = await gateway.manual("consignacion-0005", {**slip, "paid_at": "2026-04-05T10:00:00-05:00"})
    assert again.status_code == 409
    later = await gateway.manual("consignacion-0006", {**slip, "paid_at": "2026-04-07T10:00:00-05:00"})
    other = await gateway.manual("consignacion-0007", {**slip, "amount": "15000.01"})
    assert (later.json()["status"], other.json()["status"]) == ("applied", "applied")


async def test_a_deposits_own_line_is_held_whatever_lines_came_before(gateway: Gateway) -> None:
    """A line applied before a payment by hand was recorded, or one the operator said was another deposit, answers
    no payment by hand: the payment's own line, when it comes, waits for the operator all the same."""
    assert [r["status"] for r in (await statement(gateway, "lunes.csv", "06/04/2026;A-1;20.000,00;TX-30"))[
        "results"]] == ["applied"]
    # Tuesday's deposit, recorded by hand: Monday's line was posted before it was made, so it is not that one.
    await recorded_by_hand(gateway, "consignacion-0010", "A-1", "20000.00", "2026-04-07T10:00:00-05:00")
    body = await statement(gateway, "miercoles.csv", "08/04/2026;A-1;20.000,00;TX-31")
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [("unmatched", "possible_duplicate")]
    # The operator said a payment by hand was another deposit than a line already there: its own line is held.
    assert [r["status"] for r in (await statement(gateway, "a2.csv", "06/04/2026;A-2;15.000,00;TX-40"))[
        "results"]] == ["applied"]
    slip = {"account_ref": "A-2", "amount": "15000.00", "paid_at": "2026-04-06T16:00:00-05:00", "method": "efectivo"}
    assert (await gateway.manual("consignacion-0011", slip)).status_code == 409
    assert (await gateway.manual("consignacion-0011", {**slip, "another_deposit": True})).status_code == 200
    body = await statement(gateway, "a2-siguiente.csv", "07/04/2026;A-2;15.000,00;TX-41")
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [("unmatched", "possible_duplicate")]
    # 100,000 less 15,000 from the bank and 15,000 by hand: the second deposit's line waits, not applied twice.
    assert await gateway.balance("A-2") == (Decimal("70000.00"), "open", Decimal("70000.00"))


async def test_a_held_line_closed_as_the_same_deposit_books_nothing_and_keeps_what_it_paid(
        clocked: tuple[Gateway, Clock]) -> None:
    """The payment by hand kept a settlement; its bank line comes: closed as that deposit, nothing moves (reversing
    the payment by hand to assign the line would have broken the settlement)."""
    gateway, clock = clocked
    made = await gateway.http.post("/v1/clients/banco/accounts/A-1/arrangements", headers=gateway.as_operator(), json={
        "kind": "settlement", "instalments": [{"due_date": "2026-04-03", "amount": "70000.00"}]})
    assert made.status_code == 201, made.text
    clock.now = READ_AT  # the deposit and its line are recorded after the days they were made
    by_hand = await recorded_by_hand(gateway, "consignacion-0020", "A-1", "70000.00", "2026-04-03T11:00:00-05:00")
    assert await gateway.balance("A-1") == (Decimal("0.00"), "settled", Decimal("0.00"))
    body = await statement(gateway, "extracto.csv", "06/04/2026;A-1;70.000,00;TX-50")  # after the deadline
    line = body["results"][0]["payment_id"]
    url = f"/v1/clients/banco/payments/unmatched/{line}/same-deposit"
    closed = await gateway.http.post(url, headers=gateway.as_operator())
    assert (closed.status_code, closed.json()) == (200, {"id": line, "status": "duplicate", "same_as": by_hand})
    assert (await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=gateway.as_operator())
            ).json()["items"] == []
    assert await gateway.balance("A-1") == (Decimal("0.00"), "settled", Decimal("0.00"))
    arrangements = (await gateway.http.get("/v1/clients/banco/accounts/A-1/arrangements",
                                           headers=gateway.as_operator())).json()["items"]
    assert arrangements[0]["status"] == "kept"
    again = await gateway.http.post(url, headers=gateway.as_operator())
    assert (again.status_code, again.json()["code"]) == (409, "not_possible_duplicate")
    # The payment by hand has its line: another line of that amount those days is another deposit, applied.
    later = await statement(gateway, "extracto-2.csv", "06/04/2026;A-1;70.000,00;TX-51")
    assert [r["status"] for r in later["results"]] == ["applied"]


async def test_a_line_whose_payment_by_hand_was_reversed_is_assigned_not_closed(gateway: Gateway) -> None:
    by_hand = await recorded_by_hand(gateway, "consignacion-0030", "A-2", "12000.00", "2026-04-03T11:00:00-05:00")
    line = (await statement(gateway, "extracto.csv", "06/04/2026;A-2;12.000,00;TX-60"))["results"][0]["payment_id"]
    reversed_ = await gateway.http.post(f"/v1/clients/banco/payments/{by_hand}/reversal", json={"reason": "x"},
                                        headers={**gateway.as_operator(), "Idempotency-Key": "reverso-0030"})
    assert reversed_.status_code == 200, reversed_.text
    refused = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{line}/same-deposit",
                                      headers=gateway.as_operator())
    assert (refused.status_code, refused.json()["code"]) == (409, "recorded_payment_not_applied")
