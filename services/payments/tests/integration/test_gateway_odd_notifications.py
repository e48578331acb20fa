"""Gateway accounts' notifications that no balance can take, through the real HTTP API and PostgreSQL: an approval
in fractions of a cent waits in suspense with the amount exactly as the gateway said it (never rounded, never
assignable, answered once so the gateway stops sending it), an approval of nothing applies nothing, and a verified
notification refused for its shape is recorded among the refused webhooks (sizes and a hash, no content)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.settings import PaymentsSettings
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import NOW, Gateway, gateway_on
from .fake_gateways import FakeGatewayApis, gateway_apis
from .test_gateway_accounts import (
    MP_SECRET,
    PAYU,
    STRIPE,
    balance,
    configure,
    mp_payment,
    mp_send,
    payments_tables_holding,
    payu_form,
    rejections,
    session,
    stripe_send_args,
    suspense,
)
from .test_suspense_console import signed_in, text_of

pytestmark = pytest.mark.integration


@pytest.fixture
async def apis() -> AsyncIterator[FakeGatewayApis]:
    async with gateway_apis() as fake:
        yield fake


@pytest.fixture
async def gw(database_url: str, apis: FakeGatewayApis) -> AsyncIterator[Gateway]:
    platform = make_platform(settings_for_test(database_url), pool_size=8, clock=lambda: NOW)
    settings = PaymentsSettings(wompi_api_base_url=apis.base_url, gateway_api_timeout_s=2.0)
    async with gateway_on(platform, settings) as opened:
        yield opened
    await platform.db.dispose()


async def mercadopago(gw: Gateway, apis: FakeGatewayApis, amounts: dict[str, str]) -> str:
    """A Mercado Pago account whose API says each payment id was approved for its amount; its webhook's path."""
    hook = await configure(gw, "mp", {"kind": "mercadopago", "access_token": apis.access_token,
                                      "webhook_secret": MP_SECRET, "api_base_url": apis.base_url})
    for pid, amount in amounts.items():
        apis.mp_payments[pid] = {k: (str(v) if isinstance(v, Decimal) else v)
                                 for k, v in mp_payment(pid, "approved", amount=amount).items()}
    return hook


async def unmatched_events(gw: Gateway) -> list[tuple[str, str]]:
    async with gw.platform.db.transaction() as s:
        rows = (await s.execute(text(
            "SELECT envelope->'payload'->>'amount', envelope->'payload'->>'reason' FROM payments.outbox "
            "WHERE envelope->>'type' = 'payment.unmatched' ORDER BY id"))).all()
    return [(str(r[0]), str(r[1])) for r in rows]


async def test_an_approval_in_fractions_of_a_cent_waits_in_suspense_exactly_as_the_gateway_said(
        gw: Gateway, apis: FakeGatewayApis) -> None:
    """100.005 was kept as 100.01 (numeric(16,2)): money nobody paid, assignable to an account; 0.004 became 0.00,
    failed the payment's amount > 0 check and was answered 500, which the gateway sends again forever."""
    hook = await mercadopago(gw, apis, {"2001": "100.005", "2002": "0.004"})
    first = [await mp_send(gw, hook, pid) for pid in ("2001", "2002")]
    assert [(r.status_code, r.json().get("status")) for r in first] == [(200, "unmatched"), (200, "unmatched")]
    waiting = await suspense(gw)
    assert sorted((p["gateway_payment_id"], p["amount"], p["reason"]) for p in waiting) == [
        ("2001", "100.005", "amount_not_in_cents"), ("2002", "0.004", "amount_not_in_cents")]
    assert sorted(await unmatched_events(gw)) == [("0.004", "amount_not_in_cents"),
                                                  ("100.005", "amount_not_in_cents")]
    # No balance takes a fraction of a cent: the operator settles it with the gateway.
    for p in waiting:
        assigned = await gw.http.post(f"/v1/clients/banco/payments/unmatched/{p['id']}/assign",
                                      json={"account_ref": "A-1"}, headers=gw.as_operator())
        assert (assigned.status_code, assigned.json()["code"]) == (422, "amount_not_in_cents")
    assert await balance(gw) == "100000.00"
    # The operator's page shows the amount as it came, not rounded to the currency's cents.
    ana = await signed_in(gw.platform, "ana@agencia.co", "operator")
    page = text_of((await gw.http.get("/console/payments/banco", headers={"Cookie": ana["Cookie"]})).text)
    assert "100,005" in page and "0,004" in page
    again = [await mp_send(gw, hook, pid) for pid in ("2001", "2002")]
    assert [(r.status_code, r.json()["status"]) for r in again] == [(200, "duplicate"), (200, "duplicate")]
    assert len(await suspense(gw)) == 2 and await rejections(gw) == []


async def test_an_approval_of_nothing_applies_nothing_and_is_answered(gw: Gateway) -> None:
    """A Stripe session paid in full by a discount (amount_total 0) broke the payment's amount > 0 check: 500,
    sent again forever. Nothing was paid: it is recorded as the gateway's state and answered ignored."""
    hook = await configure(gw, "stripe", STRIPE)
    raw, headers = stripe_send_args("checkout.session.completed", {**session("paid"), "amount_total": 0})
    answers = [await gw.http.post(hook, content=raw, headers=headers) for _ in range(2)]
    assert [(r.status_code, r.json().get("status")) for r in answers] == [(200, "ignored"), (200, "ignored")]
    assert await balance(gw) == "100000.00" and await suspense(gw) == []
    async with gw.platform.db.transaction() as s:
        state = (await s.execute(text("SELECT status, amount::text FROM payments.gateway_payment_states "
                                      "WHERE gateway_payment_id = 'pi_3Q1'"))).one()
    assert tuple(state) == ("approved", "0.000")


async def test_a_notification_refused_for_its_shape_is_recorded_without_its_content(gw: Gateway) -> None:
    """A verified notification of another shape was answered 422 malformed_notification and left no trace an
    operator could read, unlike the generic webhook since f7ca250: now it is counted there, without its content."""
    stripe_hook = await configure(gw, "stripe", STRIPE)
    odd: dict[str, Any] = {**session("paid"), "amount_total": -3000000}  # signed, but no amount Stripe documents
    raw, headers = stripe_send_args("checkout.session.completed", odd)
    refused = await gw.http.post(stripe_hook, content=raw, headers=headers)
    payu_hook = await configure(gw, "payu", PAYU)
    # PayU documents values to two decimals (its sign's rounding rule is for those): a third cannot be verified.
    sub_cent = await gw.http.post(payu_hook, content=payu_form("A-1", "4").replace(b"=30000.00&", b"=30000.005&"),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert [(r.status_code, r.json()["code"]) for r in (refused, sub_cent)] == [
        (422, "malformed_notification"), (422, "malformed_notification")]
    assert sorted(await rejections(gw)) == [("payu/banco/payu", "malformed_notification", 1),
                                            ("stripe/banco/stripe", "malformed_notification", 1)]
    assert await balance(gw) == "100000.00"
    async with gw.platform.db.transaction() as s:
        samples = (await s.execute(text("SELECT sample FROM payments.webhook_rejections"))).scalars().all()
    assert all(set(sample) <= {"body_bytes", "body_sha256", "signature_header_chars"} for sample in samples)
    for payer in ("pagador@example.com", "Pagador", "cs_test_a1", "pi_3Q1"):
        assert await payments_tables_holding(gw, payer) == []
