"""A bank statement without the bank's transaction ids sent again as other bytes (saved again by a spreadsheet, its
line endings changed, or a later statement that repeats the days of an earlier one), on the real API and
PostgreSQL: a line that another file already applied (same account, amount and day) is not applied a second time;
it waits in suspense (`in_earlier_file`) for an operator, who closes it as the same deposit or assigns it as
another. Two such lines within one file are two payments, as the bank wrote them."""

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from payments.settings import PaymentsSettings

from .conftest import READ_AT, Gateway, deliver, gateway_at, placed

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(database_url: str, payments_settings: PaymentsSettings) -> AsyncIterator[Gateway]:
    """The files below are read after the days they say were paid (a line dated after its reading is refused)."""
    async with gateway_at(database_url, payments_settings, lambda: READ_AT) as opened:
        yield opened


HEADER = "Fecha;Referencia;Valor\n"


async def upload(gateway: Gateway, name: str, text: str) -> dict[str, Any]:
    answer = await gateway.http.post("/v1/clients/banco/payments/files", headers=gateway.as_operator(),
                                     files={"file": (name, text.encode())})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def outcomes(body: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    return [(r["row"], r["status"], r.get("reason")) for r in body["results"]]


async def test_a_statement_saved_again_applies_none_of_its_lines_twice(gateway: Gateway) -> None:
    lines = HEADER + "05/04/2026;A-1;10.000,00\n05/04/2026;A-1;10.000,00\n05/04/2026;A-2;4.000,00\n"
    first = await upload(gateway, "extracto.csv", lines)
    assert outcomes(first) == [(2, "applied", None), (3, "applied", None), (4, "applied", None)]
    assert await gateway.balance("A-1") == (Decimal("80000.00"), "open", Decimal("80000.00"))

    # Opened and saved again: other bytes (CRLF), the same lines. None is applied again; each waits for an operator.
    again = await upload(gateway, "extracto.csv", lines.replace("\n", "\r\n"))
    assert outcomes(again) == [(2, "unmatched", "in_earlier_file"), (3, "unmatched", "in_earlier_file"),
                               (4, "unmatched", "in_earlier_file")]
    assert await gateway.balance("A-1") == (Decimal("80000.00"), "open", Decimal("80000.00"))
    assert (await gateway.balance("A-2"))[0] == Decimal("96000.00")
    queue = (await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=gateway.as_operator())).json()
    assert sorted((p["reason"], p["amount"], p["reference"]) for p in queue["items"]) == [
        ("in_earlier_file", "10000.00", "A-1"), ("in_earlier_file", "10000.00", "A-1"),
        ("in_earlier_file", "4000.00", "A-2")]

    # The operator closes one as the same deposit (nothing booked) and assigns another as a deposit of its own.
    held = {p["id"]: p for p in queue["items"]}
    first_held, second_held = [i for i, p in held.items() if p["reference"] == "A-1"]
    closed = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{first_held}/same-deposit",
                                     headers=gateway.as_operator())
    assert (closed.status_code, closed.json()["status"]) == (200, "duplicate"), closed.text
    unsaid = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{second_held}/assign",
                                     json={"account_ref": "A-1"}, headers=gateway.as_operator())
    assert (unsaid.status_code, unsaid.json()["code"]) == (409, "possible_duplicate"), unsaid.text
    assert "another bank file" in unsaid.json()["detail"]
    assigned = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{second_held}/assign",
                                       json={"account_ref": "A-1", "another_deposit": True},
                                       headers=gateway.as_operator())
    assert (assigned.status_code, assigned.json()["new_balance"]) == (200, "70000.00"), assigned.text


async def test_a_statement_saved_again_before_its_account_is_placed_applies_its_line_once(gateway: Gateway) -> None:
    lines = HEADER + "05/04/2026;A-7;10.000,00\n"
    assert outcomes(await upload(gateway, "extracto.csv", lines)) == [(2, "unmatched", "unknown_account_ref")]
    assert outcomes(await upload(gateway, "extracto.csv", lines.replace("\n", "\r\n"))) == [
        (2, "unmatched", "unknown_account_ref")]
    await deliver(gateway.platform, await placed(gateway.platform, "A-7", debtor_id="107"))
    # The first file's line leaves suspense for A-7; the second's stays, as maybe that one, for an operator.
    assert await gateway.balance("A-7") == (Decimal("90000.00"), "open", Decimal("90000.00"))
    queue = (await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=gateway.as_operator())).json()
    assert [(p["reason"], p["amount"]) for p in queue["items"]] == [("in_earlier_file", "10000.00")]


async def test_a_later_statement_repeating_a_day_holds_that_day_and_applies_the_next(gateway: Gateway) -> None:
    await upload(gateway, "lunes.csv", HEADER + "06/04/2026;A-1;10.000,00\n")
    both = await upload(gateway, "lunes-martes.csv", HEADER + "06/04/2026;A-1;10.000,00\n07/04/2026;A-1;10.000,00\n"
                                                              "06/04/2026;A-1;3.000,00\n")
    assert outcomes(both) == [(2, "unmatched", "in_earlier_file"), (3, "applied", None), (4, "applied", None)]
    assert await gateway.balance("A-1") == (Decimal("77000.00"), "open", Decimal("77000.00"))


async def test_a_line_held_for_another_files_line_leaves_that_line_answering_a_deposit_by_hand(
        gateway: Gateway) -> None:
    """The line held for the earlier file's does not stand for the deposit's payment by hand: recorded after, that
    payment is still refused as one the statement already brought."""
    lines = HEADER + "06/04/2026;A-1;25.000,00\n"
    await upload(gateway, "extracto.csv", lines)
    assert outcomes(await upload(gateway, "extracto.csv", lines.replace("\n", "\r\n"))) == [
        (2, "unmatched", "in_earlier_file")]
    by_hand = await gateway.manual("consignacion-0001", {"account_ref": "A-1", "amount": "25000.00",
                                                         "paid_at": "2026-04-05T16:40:00-05:00"})
    assert (by_hand.status_code, by_hand.json()["code"]) == (409, "possible_duplicate"), by_hand.text
    assert await gateway.balance("A-1") == (Decimal("75000.00"), "open", Decimal("75000.00"))
