"""Cash vouchers issued at local fakes of Mercado Pago, PayU and Stripe in each one's documented request form; a
gateway's refusal, an outage and an oversized answer; which networks an account can offer."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from payments.checkouts.cash import (
    CashPayer,
    CashRefused,
    CashRequest,
    cash_networks,
    issue_voucher,
    payer_fields,
)
from payments.gateways.domain.cash import idempotency_key
from payments.gateways.domain.payu import checkout_signature
from payments.gateways.gateway_http import GatewayUnreachable
from payments.gateways.store import GatewayAccount

from .fake_cash_gateways import EXPIRES, FakeCashGateways, cash_gateway_apis

pytestmark = pytest.mark.integration
# The local fake answers at once; the time allowed is for a loaded CI machine (a 5 s connect timed out once under
# four test workers on two cores), not a figure these tests judge.
WITHIN_S = 30

NOW = dt.datetime(2025, 12, 3, 17, 0, tzinfo=dt.UTC)
BOGOTA = dt.timezone(dt.timedelta(hours=-5))
PAYER = CashPayer(full_name="Ana María Pérez", email="ana@example.co", phone="3001234567", id_type="CC",
                  id_number="1020304050", street="Cra 7 # 12-34", city="Bogotá", state="Bogotá D.C.",
                  postal_code="110111", ip_address="190.85.1.2")
REFERENCE = "RC7Q2MZK4N8XW3PLD5TJHA"


@pytest.fixture
async def fake() -> AsyncIterator[FakeCashGateways]:
    async with cash_gateway_apis() as apis:
        yield apis


def account(kind: str, fake: FakeCashGateways, **overrides: str | None) -> GatewayAccount:
    secrets, settings = {
        "mercadopago": ({"access_token": fake.mp_access_token, "webhook_secret": "s"},
                        {"api_base_url": fake.base_url}),
        "payu": ({"api_key": fake.payu_api_key, "api_login": fake.payu_api_login},
                 {"merchant_id": fake.payu_merchant_id, "account_id": "512321"}),
        "stripe": ({"webhook_secret": "whsec_x", "secret_key": fake.stripe_secret_key}, {}),
        "wompi": ({"events_secret": "e", "integrity_secret": "i", "private_key": "prv_test_x"},
                  {"public_key": "pub_test_x"}),
    }[kind]
    secrets = {k: v for k, v in {**secrets, **overrides}.items() if v is not None}
    return GatewayAccount(client="banco-andino", name=kind, kind=kind, webhook_id="wh_1", settings=settings,
                          created_at=NOW, updated_at=NOW, secrets=secrets)


def cash_request(country: str = "CO", currency: str = "COP", amount: str = "65000",
                 payer: CashPayer | None = PAYER) -> CashRequest:
    return CashRequest(reference=REFERENCE, amount=Decimal(amount), currency=currency, country=country,
                       description="Pago obligación A-1 - Banco Andino",
                       expires_at=dt.datetime(2025, 12, 6, 23, 59, 59, tzinfo=BOGOTA),
                       notification_url="https://recaudo.example/v1/webhooks/gateways/wh_1", payer=payer)


async def test_mercadopago_efecty_voucher_in_the_documented_form(fake: FakeCashGateways) -> None:
    issued = await issue_voucher(account("mercadopago", fake), cash_request(), network="efecty", base_url=None,
                                 timeout_s=WITHIN_S)
    assert fake.malformed == []
    [asked] = fake.asked
    assert asked.headers["authorization"] == f"Bearer {fake.mp_access_token}"
    assert asked.headers["x-idempotency-key"] == idempotency_key(REFERENCE, "efecty", asked.raw)
    assert asked.headers["content-type"] == "application/json"
    assert asked.body == {
        "transaction_amount": 65000, "description": "Pago obligación A-1 - Banco Andino",
        "payment_method_id": "efecty", "external_reference": REFERENCE,
        "notification_url": "https://recaudo.example/v1/webhooks/gateways/wh_1",
        "date_of_expiration": "2025-12-06T23:59:59.000-05:00",
        "payer": {"email": "ana@example.co", "identification": {"type": "CC", "number": "1020304050"}}}
    assert issued.gateway_payment_id == "1000000000"
    assert (issued.voucher.network, issued.voucher.reference) == ("efecty", "9000000")
    assert issued.voucher.expires_at == dt.datetime(2025, 12, 7, 4, 59, 59, tzinfo=dt.UTC)
    assert issued.voucher.voucher_url == "https://www.mercadopago.com.co/payments/1000000000/ticket?caller_id=1"
    # Asked again (a lost answer retried), the same idempotency key finds the same voucher: never two.
    again = await issue_voucher(account("mercadopago", fake), cash_request(), network="efecty", base_url=None,
                                timeout_s=WITHIN_S)
    assert again == issued and len(fake.issued) == 1
    # Corrected (another e-mail), it is another request: a new key, as the gateway requires.
    fixed = await issue_voucher(account("mercadopago", fake), cash_request(payer=CashPayer(email="ana@example.com")),
                                network="efecty", base_url=None, timeout_s=WITHIN_S)
    assert fixed.gateway_payment_id != issued.gateway_payment_id and len(fake.issued) == 2


async def test_payu_efecty_voucher_signed_as_documented(fake: FakeCashGateways) -> None:
    issued = await issue_voucher(account("payu", fake), cash_request(), network="efecty",
                                 base_url=f"{fake.base_url}/payments-api/4.0/service.cgi", timeout_s=WITHIN_S)
    assert fake.malformed == []  # the fake checked the order's MD5 signature over TX_VALUE as sent
    [asked] = fake.asked
    assert asked.headers["content-type"].startswith("application/json")
    order = asked.body["transaction"]["order"]
    assert order["signature"] == checkout_signature(api_key=fake.payu_api_key, merchant_id="508029",
                                                    reference_code=REFERENCE, amount="65000", currency="COP")
    assert order["additionalValues"]["TX_VALUE"] == {"value": "65000", "currency": "COP"}
    assert asked.body["transaction"]["paymentMethod"] == "EFECTY"
    assert asked.body["transaction"]["expirationDate"] == "2025-12-07T04:59:59.000"
    assert asked.body["test"] is True  # PayU's public test merchant
    assert issued.voucher.network == "efecty" and issued.voucher.reference.isdigit()
    assert issued.voucher.expires_at == dt.datetime.fromtimestamp(EXPIRES, dt.UTC)
    assert issued.voucher.voucher_url is not None and issued.voucher.voucher_url.startswith(
        "https://sandbox.checkout.payulatam.com/")


async def test_stripe_oxxo_voucher_in_the_documented_form(fake: FakeCashGateways) -> None:
    payer = CashPayer(full_name="Ana María Pérez", email="ana@example.mx")
    issued = await issue_voucher(account("stripe", fake), cash_request("MX", "MXN", "1099.50", payer=payer),
                                 network="oxxo", base_url=fake.base_url, timeout_s=WITHIN_S, now=NOW)
    assert fake.malformed == []
    [asked] = fake.asked
    assert asked.headers["authorization"] == f"Bearer {fake.stripe_secret_key}"
    assert asked.headers["idempotency-key"] == idempotency_key(REFERENCE, "oxxo", asked.raw)
    assert asked.body["amount"] == "109950" and asked.body["metadata[reference]"] == REFERENCE
    assert asked.body["payment_method_options[oxxo][expires_after_days]"] == "3"
    assert issued.gateway_payment_id == "pi_fake0"
    assert issued.voucher.reference == f"{93_000_000_000:032d}"
    assert issued.voucher.voucher_url == f"https://payments.stripe.com/oxxo/voucher/test_{93_000_000_000:032d}"
    # Retried, the same request under the same key: the same voucher (Stripe refuses a key reused otherwise).
    again = await issue_voucher(account("stripe", fake), cash_request("MX", "MXN", "1099.50", payer=payer),
                                network="oxxo", base_url=fake.base_url, timeout_s=WITHIN_S, now=NOW)
    assert again == issued and len(fake.issued) == 1 and fake.malformed == []


@pytest.mark.parametrize("kind,network,reason", [("mercadopago", "efecty", "mercadopago_2034"),
                                                 ("payu", "efecty", "payu_PAYMENT_NETWORK_REJECTED"),
                                                 ("stripe", "oxxo", "stripe_amount_too_large")])
async def test_a_gateways_refusal_is_cash_refused_with_its_code(fake: FakeCashGateways, kind: str, network: str,
                                                               reason: str) -> None:
    fake.decline = True
    req = cash_request("MX", "MXN") if kind == "stripe" else cash_request()
    with pytest.raises(CashRefused) as refused:
        await issue_voucher(account(kind, fake), req, network=network, base_url=_base(kind, fake), timeout_s=WITHIN_S,
                            now=NOW)
    assert refused.value.reason == reason and fake.malformed == []


@pytest.mark.parametrize("mode", ["down", "huge"])
@pytest.mark.parametrize("kind,network", [("mercadopago", "efecty"), ("payu", "efecty"), ("stripe", "oxxo")])
async def test_an_outage_or_an_oversized_answer_is_unreachable(fake: FakeCashGateways, mode: str, kind: str,
                                                               network: str) -> None:
    setattr(fake, mode, True)
    req = cash_request("MX", "MXN") if kind == "stripe" else cash_request()
    with pytest.raises(GatewayUnreachable) as unreachable:
        await issue_voucher(account(kind, fake), req, network=network, base_url=_base(kind, fake), timeout_s=WITHIN_S,
                            now=NOW)
    assert ("503" if mode == "down" else "more than") in str(unreachable.value)
    assert fake.asked and fake.malformed == []


async def test_a_gateway_that_cannot_be_reached_is_unreachable(fake: FakeCashGateways) -> None:
    with pytest.raises(GatewayUnreachable) as unreachable:
        await issue_voucher(account("mercadopago", fake), cash_request(), network="efecty",
                            base_url="http://127.0.0.1:9", timeout_s=2)
    assert "could not be reached" in str(unreachable.value)
    assert fake.mp_access_token not in str(unreachable.value)


async def test_missing_payer_data_or_a_credential_sends_nothing(fake: FakeCashGateways) -> None:
    with pytest.raises(CashRefused) as refused:
        await issue_voucher(account("payu", fake), cash_request(payer=CashPayer(email="ana@example.co")),
                            network="efecty", base_url=_base("payu", fake), timeout_s=WITHIN_S)
    assert refused.value.reason.startswith("payer_data_missing:full_name,phone")
    with pytest.raises(CashRefused) as refused:
        await issue_voucher(account("stripe", fake, secret_key=None),
                            cash_request("MX", "MXN", payer=CashPayer(full_name="A B", email="a@b.mx")),
                            network="oxxo", base_url=fake.base_url, timeout_s=WITHIN_S, now=NOW)
    assert refused.value.reason == "secret_key_not_set"
    assert fake.asked == []


def test_networks_per_country_credentials_and_payer_data() -> None:
    fake = FakeCashGateways(base_url="http://127.0.0.1:1")
    everything = PAYER.given()
    assert cash_networks(account("payu", fake), "CO", payer_known=everything) == ["baloto", "efecty", "su_red"]
    assert cash_networks(account("payu", fake), "PE", payer_known=everything) == ["pagoefectivo"]
    assert cash_networks(account("mercadopago", fake), "MX", payer_known={"email"}) == ["oxxo"]
    assert cash_networks(account("stripe", fake), "MX", payer_known={"full_name", "email"}) == ["oxxo"]
    assert cash_networks(account("stripe", fake), "CO", payer_known=everything) == []
    # Without the credential the voucher API needs (optional in the account), nothing.
    assert cash_networks(account("payu", fake, api_login=None), "CO", payer_known=everything) == []
    assert cash_networks(account("stripe", fake, secret_key=None), "MX", payer_known=everything) == []
    # Wompi's corresponsales need the payer's own acceptance of its terms: not offered.
    assert cash_networks(account("wompi", fake), "CO", payer_known=everything) == []
    # Payments keeps no payer data: a caller that cannot ask for it is offered nothing.
    assert cash_networks(account("mercadopago", fake), "CO") == []
    assert cash_networks(account("payu", fake), "CO", payer_known={"full_name", "email"}) == []
    assert payer_fields(account("payu", fake), "PE") == ("full_name", "email", "ip_address")


def _base(kind: str, fake: FakeCashGateways) -> str:
    return f"{fake.base_url}/payments-api/4.0/service.cgi" if kind == "payu" else fake.base_url
