"""The gateway accounts' wiring that needs no database: credentials never in a repr, the webhook URL, Wompi's base
URL told by the public key, and the configuration bodies each kind takes."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import TypeAdapter, ValidationError

from payments.gateways.handlers import WEBHOOK_ID, webhook_url
from payments.gateways.lookups import WOMPI_PRODUCTION, WOMPI_SANDBOX, wompi_base_url
from payments.gateways.schemas import DEFAULT_MERCADOPAGO_API, GatewayAccountIn, MercadoPagoIn
from payments.gateways.store import GatewayAccount

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 31, 15, tzinfo=dt.UTC)


def test_an_accounts_credentials_are_never_in_its_repr() -> None:
    account = GatewayAccount(client="banco", name="mp", kind="mercadopago", webhook_id="h", created_at=NOW,
                             updated_at=NOW, settings={"api_base_url": DEFAULT_MERCADOPAGO_API},
                             secrets={"access_token": "APP_USR-s3cr3t", "webhook_secret": "whs3cr3t"})
    assert "s3cr3t" not in repr(account) and "s3cr3t" not in str(account)
    assert account.ledger_key == "mercadopago/banco/mp"


def test_the_webhook_url_is_on_the_public_url_and_its_id_is_looked_up_only_when_issuable() -> None:
    assert webhook_url("https://api.recaudo.example/", "AbC_-9") == \
        "https://api.recaudo.example/v1/webhooks/gateways/AbC_-9"
    assert WEBHOOK_ID.fullmatch("tQ3l2c8w4Zg9yX1-_aBcDeFgHiJkLmNo")
    for hostile in ("", "a/b", "a\x00b", "é", "x" * 65, "' OR 1=1--"):
        assert not WEBHOOK_ID.fullmatch(hostile)


def test_wompis_environment_is_told_by_the_public_key() -> None:
    assert wompi_base_url("pub_prod_abc", None) == WOMPI_PRODUCTION
    assert wompi_base_url("pub_test_abc", None) == WOMPI_SANDBOX
    assert wompi_base_url("pub_prod_abc", "http://127.0.0.1:9/") == "http://127.0.0.1:9"


def test_each_kind_takes_its_documented_fields_only() -> None:
    adapter: TypeAdapter[object] = TypeAdapter(GatewayAccountIn)
    parsed = adapter.validate_python({"kind": "mercadopago", "access_token": "t", "webhook_secret": "w"})
    assert isinstance(parsed, MercadoPagoIn) and parsed.api_base_url == DEFAULT_MERCADOPAGO_API
    for body in ({"kind": "stripe"}, {"kind": "stripe", "webhook_secret": "w", "api_key": "x"},
                 {"kind": "payu", "api_key": "k", "merchant_id": "1", "account_id": "x"},
                 {"kind": "wompi", "events_secret": "e", "integrity_secret": "i", "public_key": "prv_prod_x"},
                 {"kind": "mercadopago", "access_token": "t", "webhook_secret": "w",
                  "api_base_url": "https://u:p@api.mercadopago.com"}):
        with pytest.raises(ValidationError):
            adapter.validate_python(body)
