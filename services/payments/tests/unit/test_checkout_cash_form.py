"""The cash form: it offers the networks the account issues in the client company's country and asks only what
that gateway demands of the payer there (the browser's address is the request's); an answer missing or overlong in
any field, or a network not offered, is refused with what to fix, before anything is sent."""

from __future__ import annotations

import datetime as dt

import pytest

from payments.checkouts.vouchers import CashForm, CashFormInvalid, cash_form, payer_of
from payments.gateways.store import GatewayAccount
from recaudo_common.client_copy import ClientCopy

pytestmark = pytest.mark.unit

AT = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)


def account(kind: str, settings: dict[str, str], secrets: dict[str, str]) -> GatewayAccount:
    return GatewayAccount(client="banco", name=kind, kind=kind, webhook_id="wh", settings=settings, created_at=AT,
                          updated_at=AT, secrets=secrets)


def client(country: str) -> ClientCopy:
    return ClientCopy(slug="banco", name="Banco", country=country, currency="COP", timezone="America/Bogota",
                      locale="es-CO", default_authorised_channels=("sms",))


MP = account("mercadopago", {"api_base_url": "https://api.mercadopago.com"}, {"access_token": "t", "webhook_secret": "w"})
PAYU = account("payu", {"merchant_id": "1", "account_id": "2"}, {"api_key": "k", "api_login": "l"})


def test_the_form_offers_the_accounts_networks_and_asks_only_what_its_gateway_demands() -> None:
    assert cash_form(MP, client("CO")) == CashForm(networks=[("efecty", "Efecty")],
                                                   fields=[("email", "Correo electrónico")])
    payu = cash_form(PAYU, client("CO"))
    assert payu.networks == [("baloto", "Baloto"), ("efecty", "Efecty"), ("su_red", "Su Red")]
    assert [name for name, _ in payu.fields] == ["full_name", "email", "phone", "id_number", "street", "city",
                                                 "state", "postal_code"]  # the IP address is the request's
    without_login = account("payu", PAYU.settings, {"api_key": "k"})
    assert cash_form(without_login, client("CO")).networks == []
    assert cash_form(MP, client("AR")).networks == []


def test_an_answer_is_refused_with_what_to_fix_and_a_good_one_is_the_payer() -> None:
    form = cash_form(MP, client("CO"))
    for answer, why in [({"email": "ana@example.co"}, "Elija dónde va a pagar."),
                        ({"network": "oxxo", "email": "ana@example.co"}, "Elija dónde va a pagar."),
                        ({"network": "efecty"}, "Escriba su correo electrónico (hasta 200 caracteres)."),
                        ({"network": "efecty", "email": "a" * 195 + "@b.com"},
                         "Escriba su correo electrónico (hasta 200 caracteres)."),
                        ({"network": "efecty", "email": "sin arroba"}, "Escriba un correo electrónico válido.")]:
        with pytest.raises(CashFormInvalid) as refused:
            payer_of(form, answer, ip_address="190.85.1.2")
        assert str(refused.value) == why
    network, payer = payer_of(form, {"network": "efecty", "email": "  ana@example.co "}, ip_address="190.85.1.2")
    assert (network, payer.email, payer.ip_address) == ("efecty", "ana@example.co", "190.85.1.2")
    assert "ana@" not in repr(payer)  # personal data out of every repr
