"""One deposit seen twice, when one of its two records waited in suspense first (real API, PostgreSQL and payments'
consumer runtime): a bank line or a payment recorded by hand that named an account not placed yet, re-matched
when it is placed or assigned by an operator, is not applied if the other record of the same deposit already was.
Re-matched, it stays in suspense paired with that one; assigned, it is refused 409 possible_duplicate until the
operator says it is another deposit. Either can then be closed as the same deposit, nothing booked."""

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from payments.settings import PaymentsSettings

from .conftest import READ_AT, Clock, Gateway, deliver, gateway_at, placed
from .test_deposits_recorded_by_hand import statement

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(database_url: str, payments_settings: PaymentsSettings) -> AsyncIterator[Gateway]:
    """The files below are read after the days they say were paid (a line dated after its reading is refused)."""
    async with gateway_at(database_url, payments_settings, lambda: READ_AT) as opened:
        yield opened


@pytest.fixture
async def clocked(database_url: str, payments_settings: PaymentsSettings) -> AsyncIterator[tuple[Gateway, Clock]]:
    clock = Clock(READ_AT)
    async with gateway_at(database_url, payments_settings, clock) as opened:
        yield opened, clock


SLIP = {"amount": "25000.00", "paid_at": "2026-04-03T16:40:00-05:00", "method": "consignacion"}


async def queue(gateway: Gateway) -> list[dict[str, Any]]:
    answer = await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=gateway.as_operator())
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def assign(gateway: Gateway, payment_id: str, ref: str, **extra: Any) -> Any:
    return await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{payment_id}/assign",
                                   json={"account_ref": ref, **extra}, headers=gateway.as_operator())


async def test_a_bank_line_placed_after_its_payment_by_hand_waits_paired_with_it(gateway: Gateway) -> None:
    """The payment by hand named a new account and waited; the statement's line of it too; the placement applies
    the first and holds the second, which the operator closes as that deposit."""
    by_hand = await gateway.manual("consignacion-0101", {"account_ref": "NUEVA-1", **SLIP})
    assert (by_hand.status_code, by_hand.json()["status"]) == (200, "unmatched"), by_hand.text
    body = await statement(gateway, "extracto.csv", "06/04/2026;NUEVA-1;25.000,00;TX-101")
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [("unmatched", "unknown_account_ref")]
    await deliver(gateway.platform, await placed(gateway.platform, "NUEVA-1"))
    # 100,000 placed, 25,000 paid once.
    assert await gateway.balance("NUEVA-1") == (Decimal("75000.00"), "open", Decimal("75000.00"))
    [held] = await queue(gateway)
    assert (held["id"], held["reason"], held["source"]) == (body["results"][0]["payment_id"], "possible_duplicate",
                                                            "bank_file")
    # Placed again (a restatement of the portfolio), the held line stays where it is.
    await deliver(gateway.platform, await placed(gateway.platform, "NUEVA-1"))
    assert [q["id"] for q in await queue(gateway)] == [held["id"]]
    closed = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{held['id']}/same-deposit",
                                     headers=gateway.as_operator())
    assert (closed.status_code, closed.json()) == (200, {"id": held["id"], "status": "duplicate",
                                                         "same_as": by_hand.json()["id"]})
    assert await queue(gateway) == []
    assert await gateway.balance("NUEVA-1") == (Decimal("75000.00"), "open", Decimal("75000.00"))


async def test_a_payment_by_hand_placed_after_its_bank_line_waits_and_its_key_says_so(
        clocked: tuple[Gateway, Clock]) -> None:
    """The other way round: the line was received first and applied at the placement (suspense is re-matched in
    the order received); the payment by hand of it is held `already_banked`, its Idempotency-Key answering so, then
    closed as the same deposit (the key then answers `duplicate`)."""
    gateway, clock = clocked
    body = await statement(gateway, "extracto.csv", "06/04/2026;NUEVA-2;25.000,00;TX-102")
    line = body["results"][0]["payment_id"]
    clock.now += dt.timedelta(minutes=5)
    slip = {"account_ref": "NUEVA-2", **SLIP}
    by_hand = await gateway.manual("consignacion-0102", slip)
    assert by_hand.json()["status"] == "unmatched"
    await deliver(gateway.platform, await placed(gateway.platform, "NUEVA-2"))
    assert await gateway.balance("NUEVA-2") == (Decimal("75000.00"), "open", Decimal("75000.00"))
    [held] = await queue(gateway)
    assert (held["id"], held["reason"]) == (by_hand.json()["id"], "already_banked")
    again = await gateway.manual("consignacion-0102", slip)
    assert (again.json()["status"], again.json()["reason"]) == ("unmatched", "already_banked")
    closed = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{held['id']}/same-deposit",
                                     headers=gateway.as_operator())
    assert (closed.status_code, closed.json()["same_as"]) == (200, line), closed.text
    answered = (await gateway.manual("consignacion-0102", slip)).json()
    assert (answered["id"], answered["status"]) == (held["id"], "duplicate")
    assert await gateway.balance("NUEVA-2") == (Decimal("75000.00"), "open", Decimal("75000.00"))
    # That line has its payment by hand now: another slip of the same amount those days is another deposit.
    other = await gateway.manual("consignacion-0103", {**slip, "paid_at": "2026-04-04T10:00:00-05:00"})
    assert (other.status_code, other.json()["status"]) == (200, "applied"), other.text


async def test_a_payment_by_hand_said_to_be_another_deposit_is_applied_when_placed(
        clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    await statement(gateway, "extracto.csv", "06/04/2026;NUEVA-3;25.000,00;TX-103")
    clock.now += dt.timedelta(minutes=5)
    by_hand = await gateway.manual("consignacion-0104", {"account_ref": "NUEVA-3", **SLIP, "another_deposit": True})
    assert by_hand.json()["status"] == "unmatched"
    await deliver(gateway.platform, await placed(gateway.platform, "NUEVA-3"))
    assert await queue(gateway) == []
    assert await gateway.balance("NUEVA-3") == (Decimal("50000.00"), "open", Decimal("50000.00"))
    assert (await gateway.manual("consignacion-0104", {"account_ref": "NUEVA-3", **SLIP, "another_deposit": True})
            ).json()["status"] == "applied"


async def test_an_operator_assigning_a_line_of_a_deposit_recorded_by_hand_is_asked_first(gateway: Gateway) -> None:
    """A line that named no account the client company has waits; the operator assigns it to the account a payment
    by hand of the same amount was recorded to: refused until they say it is another deposit."""
    await gateway.manual("consignacion-0105", {"account_ref": "A-1", **SLIP})
    body = await statement(gateway, "extracto.csv", "06/04/2026;A-1 ERRADA;25.000,00;TX-105")
    line = body["results"][0]["payment_id"]
    refused = await assign(gateway, line, "A-1")
    assert (refused.status_code, refused.json()["code"]) == (409, "possible_duplicate"), refused.text
    assert "another_deposit" in refused.json()["detail"]
    assert [q["id"] for q in await queue(gateway)] == [line]
    assert await gateway.balance("A-1") == (Decimal("75000.00"), "open", Decimal("75000.00"))
    # To the other account, nothing looks like it: assigned. Back to A-1's case: said another deposit, assigned.
    assigned = await assign(gateway, line, "A-1", another_deposit=True)
    assert (assigned.status_code, assigned.json()["status"]) == (200, "applied"), assigned.text
    assert await gateway.balance("A-1") == (Decimal("50000.00"), "open", Decimal("50000.00"))


async def test_an_operator_assigning_a_payment_by_hand_the_statement_brought_is_asked_first(gateway: Gateway) -> None:
    await statement(gateway, "extracto.csv", "06/04/2026;A-2;25.000,00;TX-106")
    by_hand = await gateway.manual("consignacion-0106", {"account_ref": "A-2 ERRADA", **SLIP})
    refused = await assign(gateway, by_hand.json()["id"], "A-2")
    assert (refused.status_code, refused.json()["code"]) == (409, "possible_duplicate"), refused.text
    assert "bank statement already brought" in refused.json()["detail"]
    # Another account has no such line: assigned there without asking.
    assigned = await assign(gateway, by_hand.json()["id"], "A-1")
    assert (assigned.status_code, assigned.json()["account_ref"]) == (200, "A-1"), assigned.text
    assert await gateway.balance("A-2") == (Decimal("75000.00"), "open", Decimal("75000.00"))
    assert await gateway.balance("A-1") == (Decimal("75000.00"), "open", Decimal("75000.00"))


async def test_a_held_line_is_asked_about_again_on_any_account_and_a_refused_one_can_be_closed(
        gateway: Gateway) -> None:
    """Held, the question stands: assigning the line to its account, or to another with a deposit of the same
    amount recorded by hand, is refused until the operator says it is another deposit. A line refused when
    assigned stays held as maybe that deposit, so it can be closed as it."""
    await gateway.manual("consignacion-0107", {"account_ref": "A-1", **SLIP})
    body = await statement(gateway, "extracto.csv", "06/04/2026;A-1;25.000,00;TX-107")
    held = body["results"][0]["payment_id"]
    assert body["results"][0]["reason"] == "possible_duplicate"
    assert (await assign(gateway, held, "A-1")).status_code == 409
    other = await gateway.manual("consignacion-0108", {"account_ref": "A-2", **SLIP})
    refused = await assign(gateway, held, "A-2")
    assert (refused.status_code, refused.json()["code"]) == (409, "possible_duplicate"), refused.text
    # Refused for A-2, it is now held as maybe A-2's payment by hand: closed as that one, nothing booked.
    closed = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{held}/same-deposit",
                                     headers=gateway.as_operator())
    assert (closed.status_code, closed.json()["same_as"]) == (200, other.json()["id"]), closed.text
    assert [await gateway.balance(ref) for ref in ("A-1", "A-2")] == [
        (Decimal("75000.00"), "open", Decimal("75000.00"))] * 2


async def test_a_line_assigned_from_no_account_and_refused_can_be_closed_as_the_deposit(gateway: Gateway) -> None:
    by_hand = await gateway.manual("consignacion-0109", {"account_ref": "A-1", **SLIP})
    line = (await statement(gateway, "extracto.csv", "06/04/2026;A-1 ERRADA;25.000,00;TX-109"))["results"][0]
    assert (await assign(gateway, line["payment_id"], "A-1")).status_code == 409
    [held] = await queue(gateway)
    assert (held["id"], held["reason"]) == (line["payment_id"], "possible_duplicate")
    closed = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{held['id']}/same-deposit",
                                     headers=gateway.as_operator())
    assert (closed.status_code, closed.json()["same_as"]) == (200, by_hand.json()["id"]), closed.text


async def test_a_deposit_given_back_whole_reopens_its_other_record_which_cannot_be_reversed(
        gateway: Gateway) -> None:
    """A line closed as the same deposit as a payment by hand records nothing in the ledger: reversing it is
    refused. The payment by hand reversed whole (the operator found it was entered wrongly), the line waits in
    suspense again and is assigned: the deposit the bank brought is not lost."""
    by_hand = (await gateway.manual("consignacion-0110", {"account_ref": "A-1", **SLIP})).json()["id"]
    line = (await statement(gateway, "extracto.csv", "06/04/2026;A-1;25.000,00;TX-110"))["results"][0]["payment_id"]
    assert (await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{line}/same-deposit",
                                    headers=gateway.as_operator())).status_code == 200
    refused = await gateway.http.post(f"/v1/clients/banco/payments/{line}/reversal", json={"reason": "x"},
                                      headers={**gateway.as_operator(), "Idempotency-Key": "reverso-0110"})
    assert (refused.status_code, refused.json()["code"]) == (409, "payment_not_applied"), refused.text
    reversed_ = await gateway.http.post(f"/v1/clients/banco/payments/{by_hand}/reversal", json={"reason": "errado"},
                                        headers={**gateway.as_operator(), "Idempotency-Key": "reverso-0111"})
    assert reversed_.status_code == 200, reversed_.text
    assert [(q["id"], q["reason"]) for q in await queue(gateway)] == [(line, "possible_duplicate")]
    assigned = await assign(gateway, line, "A-1")
    assert (assigned.status_code, assigned.json()["status"]) == (200, "applied"), assigned.text
    assert await gateway.balance("A-1") == (Decimal("75000.00"), "open", Decimal("75000.00"))
