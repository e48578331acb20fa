"""An operator's reversal through the real API and PostgreSQL, once per Idempotency-Key: a double-submitted
partial reversal (sent again, or five at once) takes back its amount once and answers the same; the same key
with another body is refused; a key belongs to one client company; a reversal without a key is refused."""

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import ClientRegistered, Event

from .conftest import NOW, Gateway, consumer, payment, placed
from .test_partial_reversals import reverse, reversed_events

pytestmark = pytest.mark.integration


async def paid(gateway: Gateway, pid: str, *, client: str = "banco", amount: str = "60000.00") -> str:
    """A gateway payment of `amount` on A-1 (balance 100000.00), applied; its id."""
    assert (await gateway.send({**payment(pid, amount=amount), "client": client})).json()["status"] == "applied"
    async with gateway.platform.db.transaction() as s:
        return str(await s.scalar(text("SELECT id FROM payments.payments WHERE external_id = :x"), {"x": pid}))


async def reversed_of(gateway: Gateway, payment_id: str) -> tuple[Decimal, int]:
    """The payment's reversed total and how many reversals it has."""
    async with gateway.platform.db.transaction() as s:
        total = await s.scalar(text("SELECT reversed_amount FROM payments.payments WHERE id = :p"),
                               {"p": payment_id})
        count = await s.scalar(text("SELECT count(*) FROM payments.reversals WHERE payment_id = :p"),
                               {"p": payment_id})
    return total, count


async def test_a_partial_reversal_sent_twice_takes_back_its_amount_once(gateway: Gateway) -> None:
    payment_id = await paid(gateway, "pp-1")
    first = await reverse(gateway, payment_id, key="caja-rev-0001", amount="10000.00", reason="cobro doble")
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["remaining"]) == ("reversed", "50000.00")
    again = await reverse(gateway, payment_id, key="caja-rev-0001", amount="10000.00", reason="cobro doble")
    # The same amount written otherwise is the same request.
    written_otherwise = await reverse(gateway, payment_id, key="caja-rev-0001", amount="10000", reason="cobro doble")
    assert again.status_code == written_otherwise.status_code == 200
    assert again.json() == written_otherwise.json() == first.json()  # the same reversal, the same answer
    assert await reversed_of(gateway, payment_id) == (Decimal("10000.00"), 1)
    assert await gateway.balance("A-1") == (Decimal("50000.00"), "open", Decimal("50000.00"))
    assert await reversed_events(gateway) == [(3, "reversal", "10000.00", "10000.00", "50000.00")]

    # Another key is another reversal.
    second = await reverse(gateway, payment_id, key="caja-rev-0002", amount="10000.00", reason="cobro doble")
    assert (second.status_code, second.json()["reversed_total"]) == (200, "20000.00")
    assert second.json()["reversal_id"] != first.json()["reversal_id"]
    assert await gateway.balance("A-1") == (Decimal("60000.00"), "open", Decimal("60000.00"))


async def test_five_at_once_with_the_same_key_take_back_the_amount_once(gateway: Gateway) -> None:
    payment_id = await paid(gateway, "pp-2")
    answers = await asyncio.gather(*(reverse(gateway, payment_id, key="doble-clic-0001", amount="15000.00")
                                     for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert len({a.json()["reversal_id"] for a in answers}) == 1
    assert {a.json()["reversed_total"] for a in answers} == {"15000.00"}
    assert await reversed_of(gateway, payment_id) == (Decimal("15000.00"), 1)
    assert await gateway.balance("A-1") == (Decimal("55000.00"), "open", Decimal("55000.00"))
    assert len(await reversed_events(gateway)) == 1


async def test_the_same_key_with_another_body_is_refused_and_changes_nothing(gateway: Gateway) -> None:
    payment_id = await paid(gateway, "pp-3")
    other_id = await paid(gateway, "pp-4", amount="1000.00")
    assert (await reverse(gateway, payment_id, key="caja-rev-0003", amount="10000.00")).status_code == 200
    other_amount = await reverse(gateway, payment_id, key="caja-rev-0003", amount="20000.00")
    whole = await reverse(gateway, payment_id, key="caja-rev-0003")
    other_payment = await reverse(gateway, other_id, key="caja-rev-0003", amount="10000.00")
    other_reason = await reverse(gateway, payment_id, key="caja-rev-0003", amount="10000.00", reason="otra")
    # Keys are one namespace per client company: a manual payment's key is not a reversal's.
    assert (await gateway.manual("caja-pago-0001", {"account_ref": "A-2", "amount": "5000.00",
                                                     "paid_at": NOW.isoformat()})).status_code == 200
    payment_key = await reverse(gateway, payment_id, key="caja-pago-0001", amount="10000.00")
    refused = [other_amount, whole, other_payment, other_reason, payment_key]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(409, "idempotency_key_reused")] * 5
    assert await reversed_of(gateway, payment_id) == (Decimal("10000.00"), 1)
    assert await reversed_of(gateway, other_id) == (Decimal("0.00"), 0)
    assert await gateway.balance("A-1") == (Decimal("49000.00"), "open", Decimal("49000.00"))

    # A refused reversal holds no key: corrected, it goes through with the same key.
    too_much = await reverse(gateway, other_id, key="caja-rev-0004", amount="1000.01")
    assert (too_much.status_code, too_much.json()["code"]) == (422, "reversal_exceeds_payment")
    assert (await reverse(gateway, other_id, key="caja-rev-0004", amount="1000.00")).status_code == 200
    assert await reversed_of(gateway, other_id) == (Decimal("1000.00"), 1)


async def test_a_reversal_without_a_usable_key_is_refused(gateway: Gateway) -> None:
    payment_id = await paid(gateway, "pp-5")
    url = f"/v1/clients/banco/payments/{payment_id}/reversal"
    missing = await gateway.http.post(url, json={"amount": "10000.00"}, headers=gateway.as_operator())
    short = await gateway.http.post(url, json={"amount": "10000.00"},
                                    headers={**gateway.as_operator(), "Idempotency-Key": "corto"})
    long_ = await gateway.http.post(url, json={"amount": "10000.00"},
                                    headers={**gateway.as_operator(), "Idempotency-Key": "k" * 201})
    for answer in (missing, short, long_):
        assert (answer.status_code, answer.json()["code"]) == (422, "validation_error"), answer.text
    assert "Idempotency-Key" in missing.text
    assert await reversed_of(gateway, payment_id) == (Decimal("0.00"), 0)


async def test_a_key_belongs_to_one_client_company(gateway: Gateway) -> None:
    other: list[Event] = [ClientRegistered(slug="otro", name="Otro", country="CO", currency="COP",
                                           timezone="America/Bogota", locale="es-CO",
                                           default_authorised_channels=["sms"]),
                       await placed(gateway.platform, "A-1", client="otro")]
    runtime = ConsumerRuntime(gateway.platform.db, gateway.platform.transport, consumer(gateway.platform), "t", lambda: NOW)
    assert set(await runtime.handle_batch([
        Message(f"t.{e.family}", e.key("otro"), e.envelope(client="otro", occurred_at=NOW), {}) for e in other
    ])) == {"processed"}
    banco_payment, otro_payment = await paid(gateway, "pp-6"), await paid(gateway, "pp-7", client="otro")
    banco = await reverse(gateway, banco_payment, key="misma-clave-0001", amount="10000.00")
    otro = await reverse(gateway, otro_payment, key="misma-clave-0001", amount="10000.00", client="otro")
    assert (banco.status_code, otro.status_code) == (200, 200), otro.text
    assert banco.json()["reversal_id"] != otro.json()["reversal_id"]
    assert await reversed_of(gateway, banco_payment) == (Decimal("10000.00"), 1)
    assert await reversed_of(gateway, otro_payment) == (Decimal("10000.00"), 1)
