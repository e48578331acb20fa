"""Amounts in a currency without cents, through payments' real API and PostgreSQL: a Chilean client company's
payments are in whole pesos (CLP, ISO 4217 exponent 0), so 1000.50 CLP is refused wherever a payment comes from (by
hand and the generic webhook 422 amount_not_in_minor_units, the webhook recorded among the refused ones; a bank
line rejected invalid_amount; a gateway account's approval, money the gateway took, waits in suspense and cannot
be assigned), while 1000 is applied; so are an operator's partial reversal or write-off, and a webhook's refund,
of pesos with cents."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.settings import PaymentsSettings
from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import ClientRegistered, Event
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import NOW, Gateway, consumer, gateway_on, payment, placed
from .fake_gateways import FakeGatewayApis, gateway_apis
from .test_gateway_accounts import MP_SECRET, mp_payment, mp_send

pytestmark = pytest.mark.integration
CL = "tienda-cl"


async def deliver_cl(gateway: Gateway, *events: Event) -> None:
    runtime = ConsumerRuntime(gateway.platform.db, gateway.platform.transport, consumer(gateway.platform), "t",
                              lambda: NOW)
    messages = [Message(f"t.{e.family}", e.key(CL), e.envelope(client=CL, occurred_at=NOW), {}) for e in events]
    assert set(await runtime.handle_batch(messages)) == {"processed"}


async def with_chilean_client(gateway: Gateway) -> None:
    """Client company tienda-cl (CLP) and its account C-1 of 100,000 pesos."""
    account = (await placed(gateway.platform, "C-1", "100000", client=CL)).model_copy(update={"currency": "CLP"})
    await deliver_cl(gateway, ClientRegistered(slug=CL, name="Tienda", country="CL", currency="CLP",
                                               timezone="America/Santiago", locale="es-CL",
                                               default_authorised_channels=["sms"]), account)


async def balance(gateway: Gateway) -> Decimal:
    return (await gateway.balance("C-1"))[0]


async def manual(gateway: Gateway, key: str, amount: str) -> Any:
    return await gateway.http.post(f"/v1/clients/{CL}/payments", headers={**gateway.as_operator(),
                                                                          "Idempotency-Key": key},
                                   json={"account_ref": "C-1", "amount": amount, "paid_at": NOW.isoformat()})


async def test_a_payment_by_hand_in_pesos_with_cents_is_refused(gateway: Gateway) -> None:
    await with_chilean_client(gateway)
    refused = await manual(gateway, "pago-cl-0001", "1000.50")
    assert (refused.status_code, refused.json()["code"]) == (422, "amount_not_in_minor_units"), refused.text
    assert await balance(gateway) == Decimal("100000.00")
    for key, amount in (("pago-cl-0002", "1000"), ("pago-cl-0003", "1000.00")):
        applied = await manual(gateway, key, amount)
        assert (applied.status_code, applied.json()["status"]) == (200, "applied"), applied.text
    assert await balance(gateway) == Decimal("98000.00")


async def test_a_webhook_in_pesos_with_cents_is_refused_and_recorded(gateway: Gateway) -> None:
    await with_chilean_client(gateway)
    body = {**payment("cl-1", ref="C-1", amount="1000.50"), "client": CL, "currency": "CLP"}
    sent = await gateway.send(body)
    assert (sent.status_code, sent.json()["code"]) == (422, "amount_not_in_minor_units"), sent.text
    listed = await gateway.http.get("/v1/webhooks/payments/rejections", headers=gateway.as_operator())
    assert [r["reason"] for r in listed.json()["items"]] == ["amount_not_in_minor_units"]
    assert (await gateway.send({**body, "payment_id": "cl-2", "amount": "1000"})).json()["status"] == "applied"
    assert await balance(gateway) == Decimal("99000.00")


async def test_a_bank_line_in_pesos_with_cents_is_rejected(gateway: Gateway) -> None:
    await with_chilean_client(gateway)
    content = f"Fecha;Referencia;Valor;Comprobante\n{NOW:%d/%m/%Y};C-1;1.000,50;TX-1\n{NOW:%d/%m/%Y};C-1;1.000;TX-2\n"
    answer = await gateway.http.post(f"/v1/clients/{CL}/payments/files", headers=gateway.as_operator(),
                                     files={"file": ("extracto.csv", content.encode())})
    assert answer.status_code == 201, answer.text
    assert [(r["status"], r.get("reason")) for r in answer.json()["results"]] == [("rejected", "invalid_amount"),
                                                                                 ("applied", None)]
    assert await balance(gateway) == Decimal("99000.00")


@pytest.fixture
async def gw(database_url: str) -> AsyncIterator[tuple[Gateway, FakeGatewayApis]]:
    async with gateway_apis() as apis:
        platform = make_platform(settings_for_test(database_url), pool_size=8, clock=lambda: NOW)
        async with gateway_on(platform, PaymentsSettings()) as opened:
            yield opened, apis
        await platform.db.dispose()


async def test_a_gateway_accounts_approval_in_pesos_with_cents_waits_in_suspense(
        gw: tuple[Gateway, FakeGatewayApis]) -> None:
    gateway, apis = gw
    await with_chilean_client(gateway)
    put = await gateway.http.put(f"/v1/clients/{CL}/gateways/mp", headers=gateway.as_operator(), json={
        "kind": "mercadopago", "access_token": apis.access_token, "webhook_secret": MP_SECRET,
        "api_base_url": apis.base_url})
    assert put.status_code == 201, put.text
    hook = "/" + put.json()["webhook_url"].split("/", 3)[3]
    for pid, amount in (("2001", "1000.5"), ("2002", "1000")):
        apis.mp_payments[pid] = {**{k: (str(v) if isinstance(v, Decimal) else v)
                                    for k, v in mp_payment(pid, "approved", amount, reference="C-1").items()},
                                 "currency_id": "CLP"}
    assert [(await mp_send(gateway, hook, pid)).json()["status"] for pid in ("2001", "2002")] == [
        "unmatched", "applied"]
    assert await balance(gateway) == Decimal("99000.00")
    queue = (await gateway.http.get(f"/v1/clients/{CL}/payments/unmatched", headers=gateway.as_operator())).json()
    [held] = queue["items"]
    assert (held["reason"], Decimal(held["amount"])) == ("amount_not_in_minor_units", Decimal("1000.5"))
    refused = await gateway.http.post(f"/v1/clients/{CL}/payments/unmatched/{held['id']}/assign",
                                      json={"account_ref": "C-1"}, headers=gateway.as_operator())
    assert (refused.status_code, refused.json()["code"]) == (422, "amount_not_in_minor_units"), refused.text
    assert uuid.UUID(held["id"]) and await balance(gateway) == Decimal("99000.00")


async def test_a_reversal_or_write_off_of_pesos_with_cents_is_refused(gateway: Gateway) -> None:
    await with_chilean_client(gateway)
    body = {**payment("cl-3", ref="C-1", amount="1000"), "client": CL, "currency": "CLP"}
    assert (await gateway.send(body)).json()["status"] == "applied"
    refund = {**body, "type": "refund", "payment_id": "rf-3", "refers_to": "cl-3", "amount": "0.50"}
    refused = await gateway.send(refund)
    assert (refused.status_code, refused.json()["code"]) == (422, "amount_not_in_minor_units"), refused.text
    async with gateway.platform.db.transaction() as s:
        payment_id = await s.scalar(text("SELECT id FROM payments.payments WHERE external_id = 'cl-3'"))
    url = f"/v1/clients/{CL}/payments/{payment_id}/reversal"
    for key, amount, status in (("rev-cl-1", "500.50", 422), ("rev-cl-2", "500", 200)):
        answer = await gateway.http.post(url, json={"amount": amount},
                                         headers={**gateway.as_operator(), "Idempotency-Key": key})
        assert answer.status_code == status, answer.text
    write_off = f"/v1/clients/{CL}/accounts/C-1/write-off"
    for key, amount, status in (("castigo-cl-1", "100.50", 422), ("castigo-cl-2", "100", 200)):
        answer = await gateway.http.post(write_off, json={"reason": "other", "amount": amount},
                                         headers={**gateway.as_operator(), "Idempotency-Key": key})
        assert (answer.status_code, answer.json().get("code")) == (
            status, "amount_not_in_minor_units" if status == 422 else None), answer.text
    assert await balance(gateway) == Decimal("99400.00")
