"""Every refusal payments' handlers make, through the real API and PostgreSQL: the status, code, title and detail an
API client sees (the handlers raise domain errors, the edge alone answers them), and nothing is booked; a bank
file's results keep their shape, each row with only the fields it has."""

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from .conftest import Gateway, payment

pytestmark = pytest.mark.integration


def refused(response: httpx.Response, status: int, code: str, title: str, detail: str) -> dict[str, Any]:
    """The problem body, checked whole but for `errors`; returned for a closer look."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert {k: v for k, v in body.items() if k != "errors"} == {
        "type": f"https://recaudo.dev/problems/{code}", "title": title, "status": status, "code": code,
        "detail": detail}
    return body


async def booked(gateway: Gateway) -> dict[str, int]:
    """How many payments, ledger entries, reversals and arrangements are recorded."""
    async with gateway.platform.db.transaction() as s:
        return {table: int(await s.scalar(text(f"SELECT count(*) FROM payments.{table}")) or 0)
                for table in ("payments", "ledger_entries", "reversals", "arrangements")}


async def unmatched_payment(gateway: Gateway) -> str:
    response = await gateway.manual("suspense-0001", {"account_ref": "NO-ESTA", "amount": "5000.00",
                                                      "paid_at": "2026-03-30T10:00:00-05:00"})
    assert response.json()["status"] == "unmatched"
    return str(response.json()["id"])


async def applied_payment(gateway: Gateway, pid: str = "gw-1", amount: str = "30000.00") -> str:
    assert (await gateway.send(payment(pid, amount=amount))).json()["status"] == "applied"
    async with gateway.platform.db.transaction() as s:
        return str(await s.scalar(text("SELECT id FROM payments.payments WHERE external_id = :x"), {"x": pid}))


async def test_manual_payments_refused(gateway: Gateway) -> None:
    before = await booked(gateway)
    refused(await gateway.manual("currency-0001", {"account_ref": "A-1", "amount": "10.00", "currency": "USD",
                                                   "paid_at": "2026-03-30T10:00:00-05:00"}),
            422, "invalid_currency", "Invalid currency", "payments for this client company are in COP")
    assert await booked(gateway) == before
    first = {"account_ref": "A-1", "amount": "10.00", "paid_at": "2026-03-30T10:00:00-05:00"}
    assert (await gateway.manual("caja-0001", first)).status_code == 200
    refused(await gateway.manual("caja-0001", {**first, "amount": "11.00"}), 409, "idempotency_key_reused",
            "Conflict", "this Idempotency-Key was used with a different request body")
    assert await gateway.balance("A-1") == (Decimal("99990.00"), "open", Decimal("99990.00"))


async def test_assigning_from_suspense_refused(gateway: Gateway) -> None:
    waiting, applied = await unmatched_payment(gateway), await applied_payment(gateway)
    before = await booked(gateway)

    async def assign(payment_id: str, account_ref: str) -> httpx.Response:
        return await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{payment_id}/assign",
                                       json={"account_ref": account_ref}, headers=gateway.as_operator())

    refused(await assign("00000000-0000-0000-0000-000000000000", "A-1"), 404, "not_found", "Not found",
            "payment not found")
    refused(await assign(applied, "A-2"), 409, "payment_not_unmatched", "Conflict",
            "this payment is not in the suspense queue")
    refused(await assign(waiting, "NADA"), 422, "unknown_account", "Unknown account", "no account 'NADA'")
    assert await booked(gateway) == before
    done = await assign(waiting, "A-2")
    assert (done.status_code, done.json()["matched_by"], done.json()["new_balance"]) == (200, "operator", "95000.00")


async def test_reversals_refused(gateway: Gateway) -> None:
    waiting, applied = await unmatched_payment(gateway), await applied_payment(gateway)
    before = await booked(gateway)

    async def reverse(payment_id: str, key: str, **body: str) -> httpx.Response:
        return await gateway.http.post(f"/v1/clients/banco/payments/{payment_id}/reversal", json=body,
                                       headers={**gateway.as_operator(), "Idempotency-Key": key})

    refused(await reverse("00000000-0000-0000-0000-000000000000", "rev-none-1"), 404, "not_found", "Not found",
            "payment not found")
    refused(await reverse(waiting, "rev-waiting-1"), 409, "payment_not_applied", "Conflict",
            "only an applied payment can be reversed; this one is unmatched")
    refused(await reverse(applied, "rev-much-1", amount="40000.00"), 422, "reversal_exceeds_payment",
            "Reversal refused", "40000.00 is more than what remains un-reversed of this payment (30000.00 of 30000.00)")
    assert await booked(gateway) == before
    # A refused reversal kept nothing of its key: the same key may now take back what is possible.
    assert (await reverse(applied, "rev-much-1", amount="30000.00")).json()["status"] == "reversed"


async def test_arrangements_refused(gateway: Gateway) -> None:
    async def arrange(account_ref: str, kind: str, *instalments: tuple[str, str]) -> httpx.Response:
        return await gateway.http.post(
            f"/v1/clients/banco/accounts/{account_ref}/arrangements", headers=gateway.as_operator(),
            json={"kind": kind, "instalments": [{"due_date": d, "amount": a} for d, a in instalments]})

    await applied_payment(gateway, "gw-all", amount="100000.00")  # A-1 is paid
    before = await booked(gateway)
    refused(await arrange("NADA", "settlement", ("2026-04-15", "80000.00")), 404, "not_found", "Not found",
            "account 'NADA' not found")
    refused(await arrange("A-1", "settlement", ("2026-04-15", "80000.00")), 409, "account_not_open", "Conflict",
            "the account is paid")
    body = refused(await arrange("A-2", "instalment_plan", ("2026-04-15", "100000.00")), 422,
                   "invalid_arrangement", "Invalid arrangement", "an instalment plan has 2 to 12 instalments for this client company")
    assert body["errors"] == [{"msg": "an instalment plan has 2 to 12 instalments for this client company"}]
    assert await booked(gateway) == before
    made = await arrange("A-2", "settlement", ("2026-04-15", "80000.00"))
    assert made.status_code == 201, made.text
    assert {k: v for k, v in made.json().items() if k != "id"} == {
        "kind": "settlement", "total_amount": "80000.00", "status": "active",
        "instalments": [{"due_date": "2026-04-15", "amount": "80000.00"}]}
    refused(await arrange("A-2", "settlement", ("2026-04-20", "90000.00")), 409, "arrangement_exists", "Conflict",
            "the account already has an active arrangement")


async def test_gateway_notifications_refused(gateway: Gateway) -> None:
    before = await booked(gateway)
    refused(await gateway.send({**payment("gw-nobody"), "client": "nadie"}), 404, "not_found", "Not found",
            "client company 'nadie' not found")
    refused(await gateway.send({**payment("rf-1"), "type": "refund", "refers_to": "never-sent"}), 422,
            "unknown_payment", "Unknown payment", "refund refers to a payment this gateway never sent")
    assert await booked(gateway) == before


async def test_bank_files_refused_and_their_results_keep_their_shape(gateway: Gateway) -> None:
    async def upload(name: str, content: bytes) -> httpx.Response:
        return await gateway.http.post("/v1/clients/banco/payments/files", files={"file": (name, content)},
                                       headers=gateway.as_operator())

    before = await booked(gateway)
    refused(await upload("extracto.xlsx", b"PK\x03\x04" + bytes(200)), 422, "unsupported_format",
            "Unsupported bank file", "send the statement as CSV")
    refused(await upload("extracto.csv", b"Referencia;Valor\nA-1;1.000\n"), 422, "missing_required_columns",
            "Unreadable bank file", "no column for date; headers seen: ['Referencia', 'Valor']")
    assert await booked(gateway) == before
    statement = (b"Fecha;Referencia;Valor;Comprobante\n30/03/2026;A-1;10.000,00;TX-1\n30/03/2026;NO-ESTA;500;TX-2\n"
                 b"30/03/2026;A-1;abc;TX-3\n30/03/2026;A-1;10.000,00;TX-1\n")
    made = await upload("extracto.csv", statement)
    assert made.status_code == 201, made.text
    results = made.json()["results"]
    assert [{k: v for k, v in r.items() if k != "payment_id"} for r in results] == [
        {"row": 2, "status": "applied", "reference": "A-1", "amount": "10000.00"},
        {"row": 3, "status": "unmatched", "reference": "NO-ESTA", "amount": "500", "reason": "unknown_account_ref"},
        {"row": 4, "status": "rejected", "reason": "invalid_amount"},
        {"row": 5, "status": "duplicate", "transaction_id": "TX-1"}]
    assert all("payment_id" in r for r in results[:2])
    assert made.json()["counts"] == {"applied": 1, "unmatched": 1, "duplicate": 1, "rejected": 1}
    read = await gateway.http.get(f"/v1/clients/banco/payments/files/{made.json()['id']}",
                                  headers=gateway.as_operator())
    assert read.json() == made.json()
    refused(await gateway.http.get("/v1/clients/banco/payments/files/00000000-0000-0000-0000-000000000000",
                                   headers=gateway.as_operator()), 404, "not_found", "Not found", "bank file not found")

