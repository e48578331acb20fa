"""Write-offs through the real API and PostgreSQL (#22): an operator writes an account off with a reason (a
`write_off` ledger entry, status written_off, payment.written_off on the topic), once per Idempotency-Key; each
refusal says why and stores nothing; a payment after a write-off is applied and recovers written-off money."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.settings import PaymentsSettings
from recaudo_common.events import AccountRecalled
from recaudo_common.events.envelope import topic_name
from recaudo_common.runtime import make_platform
from recaudo_common.testing import eventually, relay_all, settings_for_test

from .conftest import NOW, Gateway, deliver, gateway_on, payment

pytestmark = pytest.mark.integration


async def write_off(gateway: Gateway, ref: str = "A-1", *, key: str | None = None, client: str = "banco",
                    **body: Any) -> Any:
    return await gateway.http.post(f"/v1/clients/{client}/accounts/{ref}/write-off", json=body,
                                   headers={**gateway.as_operator(), "Idempotency-Key": key or f"wo-{uuid.uuid4()}"})


async def outboxed(gateway: Gateway, event_type: str) -> list[dict[str, Any]]:
    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text("SELECT envelope->'payload' FROM payments.outbox WHERE envelope->>'type' = :t "
                                     "ORDER BY id"), {"t": event_type})).scalars().all()
    return list(rows)


async def entries(gateway: Gateway, ref: str) -> list[tuple[str, Decimal]]:
    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text("SELECT kind, amount FROM payments.ledger_entries WHERE account_ref = :r "
                                     "ORDER BY id"), {"r": ref})).all()
    return [(k, a) for k, a in rows]


async def test_an_operator_writes_off_the_whole_balance_once_per_key(gateway: Gateway) -> None:
    first = await write_off(gateway, key="castigo-0001", reason="uneconomic", note="saldo menor al costo")
    assert first.status_code == 200, first.text
    assert {k: first.json()[k] for k in ("amount", "new_balance", "written_off_total", "account_status", "reason",
                                         "source")} == {"amount": "100000.00", "new_balance": "0.00",
                                                        "written_off_total": "100000.00", "reason": "uneconomic",
                                                        "account_status": "written_off", "source": "operator"}
    again = await write_off(gateway, key="castigo-0001", reason="uneconomic", note="saldo menor al costo")
    assert (again.status_code, again.json()) == (200, first.json())  # the same write-off, the same answer
    other = await write_off(gateway, key="castigo-0001", reason="deceased")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert await gateway.balance("A-1") == (Decimal("0.00"), "written_off", Decimal("0.00"))
    assert await entries(gateway, "A-1") == [("placement", Decimal("100000.00")), ("write_off", Decimal("-100000.00"))]
    [event] = await outboxed(gateway, "payment.written_off")
    assert {k: event[k] for k in ("account_ref", "amount", "reason", "source", "new_balance", "written_off_total",
                                  "account_status")} == {
        "account_ref": "A-1", "amount": "100000.00", "reason": "uneconomic", "source": "operator",
        "new_balance": "0.00", "written_off_total": "100000.00", "account_status": "written_off"}
    assert "note" not in event  # the operator's free text stays in payments
    async with gateway.platform.db.transaction() as s:
        assert await s.scalar(text("SELECT note FROM payments.write_offs")) == "saldo menor al costo"


async def test_refusals_say_why_and_store_nothing(gateway: Gateway) -> None:
    too_much = await write_off(gateway, reason="uneconomic", amount="100000.01")
    assert (too_much.status_code, too_much.json()["code"]) == (422, "write_off_exceeds_balance")
    unknown = await write_off(gateway, reason="aburrido")
    assert unknown.status_code == 422 and "reason" in unknown.text
    no_key = await gateway.http.post("/v1/clients/banco/accounts/A-1/write-off", json={"reason": "fraud"},
                                     headers=gateway.as_operator())
    assert no_key.status_code == 422
    missing = await write_off(gateway, "NO-EXISTE", reason="fraud")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (await gateway.send(payment("pp-9", ref="A-2", amount="100000.00"))).json()["status"] == "applied"
    paid = await write_off(gateway, "A-2", reason="uneconomic")
    assert (paid.status_code, paid.json()["code"]) == (409, "account_not_open")
    assert "paid" in paid.json()["detail"]
    await deliver(gateway.platform, AccountRecalled(account_ref="A-1", recalled_at=NOW, reason="client request"))
    recalled = await write_off(gateway, reason="uneconomic")
    assert (recalled.status_code, recalled.json()["code"]) == (409, "account_recalled")
    assert await outboxed(gateway, "payment.written_off") == []
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    async with gateway.platform.db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM payments.write_offs")) == 0


async def test_a_second_write_off_of_a_written_off_account_is_refused(gateway: Gateway) -> None:
    assert (await write_off(gateway, reason="statute_barred")).status_code == 200
    again = await write_off(gateway, reason="statute_barred")  # another key: another request
    assert (again.status_code, again.json()["code"]) == (409, "account_not_open")


async def test_a_partial_write_off_leaves_the_account_open_for_the_rest(gateway: Gateway) -> None:
    partial = await write_off(gateway, reason="other", amount="30000")
    assert (partial.json()["new_balance"], partial.json()["account_status"]) == ("70000.00", "open")
    assert (await gateway.send(payment("pp-1", amount="70000.00"))).json()["status"] == "applied"
    # Nothing is left to pay, and 30000 stays written off: the account is closed by its write-off.
    assert await gateway.balance("A-1") == (Decimal("0.00"), "written_off", Decimal("0.00"))


async def test_a_payment_after_a_write_off_is_applied_and_recovers_it(gateway: Gateway) -> None:
    assert (await write_off(gateway, reason="insolvency")).status_code == 200
    first = await gateway.send(payment("pp-1", amount="40000.00"))
    assert first.json()["status"] == "applied"  # money is never refused
    # Recovered after write-off: the written-off receivable is written back and paid; nothing is owed again.
    assert await gateway.balance("A-1") == (Decimal("0.00"), "written_off", Decimal("0.00"))
    [applied] = await outboxed(gateway, "payment.applied")
    assert (applied["new_balance"], applied["credit"], applied["account_status"]) == ("0.00", "0", "written_off")
    second = await gateway.send(payment("pp-2", amount="70000.00"))
    assert second.json()["status"] == "applied"
    # 60000 recovers the rest of the write-off, 10000 beyond it is the debtor's credit; the account is paid.
    assert await gateway.balance("A-1") == (Decimal("-10000.00"), "paid", Decimal("-10000.00"))
    recovered = await outboxed(gateway, "payment.write_off_recovered")
    assert [(e["amount"], e["written_off_total"], e["account_status"]) for e in recovered] == [
        ("40000.00", "60000.00", "written_off"), ("60000.00", "0.00", "paid")]
    assert (await outboxed(gateway, "payment.applied"))[1]["credit"] == "10000.00"
    async with gateway.platform.db.transaction() as s:
        assert await s.scalar(text("SELECT written_off FROM payments.accounts WHERE account_ref = 'A-1'")) == 0
    assert [k for k, _ in await entries(gateway, "A-1")] == [
        "placement", "write_off", "write_off_recovery", "payment", "write_off_recovery", "payment"]


@pytest.fixture
async def on_kafka(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Gateway]:
    platform = make_platform(settings_for_test(database_url, transport="kafka", kafka_bootstrap=kafka_bootstrap),
                             pool_size=8, clock=lambda: NOW)
    async with gateway_on(platform, PaymentsSettings(webhook_secrets={"pasarela": ["new"]})) as opened:
        yield opened
    await platform.db.dispose()


async def test_the_client_company_is_told_on_the_payment_topic(on_kafka: Gateway) -> None:
    assert (await write_off(on_kafka, reason="deceased")).status_code == 200
    platform, prefix = on_kafka.platform, on_kafka.platform.settings.topic_prefix
    await platform.transport.start()
    try:
        topic = topic_name(prefix, "payment")
        await platform.transport.ensure_topics([topic])
        await relay_all(platform, "payments")
        subscriber = platform.transport.subscriber(f"{prefix}.write-off-reader", [topic])
        await subscriber.start()
        seen: list[tuple[str, dict[str, Any]]] = []

        async def told() -> bool:
            batch = await subscriber.fetch(max_records=100, timeout_s=0.5)
            seen.extend((m.key, m.envelope.payload) for m in batch if m.envelope.type == "payment.written_off")
            return bool(seen)

        await eventually(told, timeout_s=30, message="payment.written_off on the topic")
        await subscriber.stop()
    finally:
        await platform.transport.stop()
    [(key, event)] = seen
    assert key.endswith("A-1")  # keyed by the account, in order with its payments
    assert (event["reason"], event["amount"], event["account_status"]) == ("deceased", "100000.00", "written_off")
    assert dt.datetime.fromisoformat(event["written_off_at"]) == NOW


async def test_a_reversed_recovery_is_written_off_again_not_owed_again(gateway: Gateway) -> None:
    assert (await write_off(gateway, reason="uneconomic")).status_code == 200
    assert (await gateway.send(payment("pp-1", amount="40000.00"))).json()["status"] == "applied"
    async with gateway.platform.db.transaction() as s:
        payment_id = await s.scalar(text("SELECT id FROM payments.payments WHERE external_id = 'pp-1'"))
    reversed_ = await gateway.http.post(f"/v1/clients/banco/payments/{payment_id}/reversal", json={},
                                        headers={**gateway.as_operator(), "Idempotency-Key": "rev-recovery-1"})
    assert reversed_.status_code == 200, reversed_.text
    assert (reversed_.json()["new_balance"], reversed_.json()["account_status"]) == ("0.00", "written_off")
    assert await gateway.balance("A-1") == (Decimal("0.00"), "written_off", Decimal("0.00"))
    async with gateway.platform.db.transaction() as s:
        assert await s.scalar(text("SELECT written_off FROM payments.accounts WHERE account_ref = 'A-1'")) == \
            Decimal("100000.00")
        # payment.reversed v3 says how much of it was written off again, for reporting's recovered after write-off.
        said = (await s.execute(text(
            "SELECT CAST(envelope->>'version' AS int), envelope->'payload'->>'written_off_again' FROM payments.outbox "
            "WHERE envelope->>'type' = 'payment.reversed'"))).all()
    assert [tuple(r) for r in said] == [(3, "40000.00")]


async def reverse_write_off(gateway: Gateway, ref: str = "A-1", *, key: str | None = None, **body: Any) -> Any:
    return await gateway.http.post(f"/v1/clients/banco/accounts/{ref}/write-off/reversal", json=body,
                                   headers={**gateway.as_operator(), "Idempotency-Key": key or f"wor-{uuid.uuid4()}"})


async def test_an_operator_reverses_a_write_off_once_and_what_was_recovered_stays_paid(gateway: Gateway) -> None:
    nothing = await reverse_write_off(gateway, reason="error del operador")
    assert (nothing.status_code, nothing.json()["code"]) == (409, "nothing_written_off")
    assert (await write_off(gateway, reason="deceased")).status_code == 200
    assert (await gateway.send(payment("pp-1", amount="25000.00"))).json()["status"] == "applied"  # recovered
    first = await reverse_write_off(gateway, key="reverso-0001", reason="el deudor no falleció")
    assert first.status_code == 200, first.text
    assert {k: first.json()[k] for k in ("amount", "new_balance", "account_status")} == {
        "amount": "75000.00", "new_balance": "75000.00", "account_status": "open"}
    again = await reverse_write_off(gateway, key="reverso-0001", reason="el deudor no falleció")
    assert (again.status_code, again.json()) == (200, first.json())
    other = await reverse_write_off(gateway, key="reverso-0001", reason="otro")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert await gateway.balance("A-1") == (Decimal("75000.00"), "open", Decimal("75000.00"))
    [event] = await outboxed(gateway, "payment.write_off_reversed")
    assert (event["amount"], event["new_balance"], event["account_status"]) == ("75000.00", "75000.00", "open")
    assert "reason" not in event
    empty = await reverse_write_off(gateway, reason="dos veces")
    assert (empty.status_code, empty.json()["code"]) == (409, "nothing_written_off")
    async with gateway.platform.db.transaction() as s:
        assert (await s.execute(text("SELECT reversal_reason FROM payments.write_offs"))).scalars().all() == [
            "el deudor no falleció"]
    # Open again, it can be written off again.
    assert (await write_off(gateway, reason="uneconomic")).json()["amount"] == "75000.00"
