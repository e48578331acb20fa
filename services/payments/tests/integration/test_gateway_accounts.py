"""Gateway accounts through the real HTTP API and PostgreSQL: an operator configures Wompi, Mercado Pago, PayU and
Stripe accounts (secrets sealed, never answered), and each gateway's notifications, signed as its documentation
says and sent as it sends them, are applied once whatever the redelivery; declined and pending apply nothing;
forged, wrong-secret or stale ones are refused 401 and counted; an unknown reference waits in suspense; refunds,
partial ones included, take money back once; a gateway API that is down makes the gateway retry. The APIs the
notifications send payments to are local fakes that check the documented request."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import text

from payments.gateways.domain import payu, stripe, wompi
from payments.settings import PaymentsSettings
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import NOW, Gateway, gateway_on
from .fake_gateways import FakeGatewayApis, gateway_apis

pytestmark = pytest.mark.integration

WOMPI = {"kind": "wompi", "events_secret": "test_events_s3cr3t-wompi", "integrity_secret": "test_integrity_xyz",
         "public_key": "pub_test_Q5yDA9xoKdePzhSGeVe9HAez7HgGORGf"}
PAYU = {"kind": "payu", "api_key": "4Vj8eK4rloUd272L48hsrarnUA", "merchant_id": "508029", "account_id": "512321"}
STRIPE = {"kind": "stripe", "webhook_secret": "whsec_test_s1gn1ng"}
MP_SECRET = "mp-webhook-s3cr3t"


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


async def configure(gw: Gateway, name: str, body: dict[str, Any]) -> str:
    """Puts the account; the path of its webhook."""
    answer = await gw.http.put(f"/v1/clients/banco/gateways/{name}", json=body, headers=gw.as_operator())
    assert answer.status_code in (200, 201), answer.text
    return urlsplit(answer.json()["webhook_url"]).path


def hook_of(answer: dict[str, Any]) -> str:
    return urlsplit(answer["webhook_url"]).path


async def balance(gw: Gateway, ref: str = "A-1") -> str:
    """The account's balance in payments' ledger (reporting's account view follows it from payment events); its
    entries always add up to it."""
    balance_, _, entries = await gw.balance(ref)
    assert balance_ == entries
    return str(balance_)


async def suspense(gw: Gateway) -> list[dict[str, Any]]:
    answer = await gw.http.get("/v1/clients/banco/payments/unmatched", headers=gw.as_operator())
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def rejections(gw: Gateway) -> list[tuple[str, str, int]]:
    listed = await gw.http.get("/v1/webhooks/payments/rejections", headers=gw.as_operator())
    return [(r["gateway"], r["reason"], r["count"]) for r in listed.json()["items"]]


# ------------------------------------------------------------------ configuration

async def test_an_account_is_configured_and_answered_without_a_secret(gw: Gateway) -> None:
    first = await gw.http.put("/v1/clients/banco/gateways/wompi-principal", json=WOMPI, headers=gw.as_operator())
    again = await gw.http.put("/v1/clients/banco/gateways/wompi-principal",
                              json={**WOMPI, "private_key": "prv_test_abc"}, headers=gw.as_operator())
    shown = await gw.http.get("/v1/clients/banco/gateways/wompi-principal", headers=gw.as_operator())
    assert (first.status_code, again.status_code, shown.status_code) == (201, 200, 200)
    assert first.json()["webhook_url"] == again.json()["webhook_url"] == shown.json()["webhook_url"]
    assert first.json()["webhook_url"].startswith("http://127.0.0.1:8000/v1/webhooks/gateways/")
    assert (first.json()["private_key_set"], shown.json()["private_key_set"]) == (False, True)
    assert shown.json()["public_key"] == WOMPI["public_key"]
    for answer in (first, again, shown):
        for secret in ("test_events_s3cr3t-wompi", "test_integrity_xyz", "prv_test_abc"):
            assert secret not in answer.text
    async with gw.platform.db.transaction() as s:
        stored = await s.scalar(text("SELECT CAST(secrets AS text) FROM payments.gateway_accounts"))
    assert "test_events_s3cr3t" not in stored and "prv_test_abc" not in stored and "s1." in stored
    other_kind = await gw.http.put("/v1/clients/banco/gateways/wompi-principal", json=STRIPE,
                                   headers=gw.as_operator())
    assert (other_kind.status_code, other_kind.json()["code"]) == (409, "gateway_kind_changed")
    mp = await gw.http.put("/v1/clients/banco/gateways/mp", json={"kind": "mercadopago", "access_token": "t",
                                                                 "webhook_secret": "w"}, headers=gw.as_operator())
    assert mp.json()["api_base_url"] == "https://api.mercadopago.com"
    unknown = await gw.http.post("/v1/webhooks/gateways/no-such-hook", content=b"{}")
    over_cap = await gw.http.post(hook_of(first.json()), content=b"{" * 70_000)
    assert over_cap.status_code == 413  # the door refuses past 64 KiB, before the route reads a byte
    missing = await gw.http.get("/v1/clients/banco/gateways/nada", headers=gw.as_operator())
    assert (unknown.status_code, missing.status_code) == (404, 404)
    keyless = await gw.http.put("/v1/clients/banco/gateways/x", json=STRIPE)
    assert keyless.status_code == 401


# ------------------------------------------------------------------ Wompi

def wompi_event(transaction: dict[str, Any], *, secret: str = WOMPI["events_secret"],
                properties: tuple[str, ...] = ("transaction.id", "transaction.status",
                                               "transaction.amount_in_cents")) -> bytes:
    """transaction.updated as Wompi sends it, its checksum made by the documented algorithm."""
    event: dict[str, Any] = {"event": "transaction.updated", "data": {"transaction": transaction},
                             "environment": "test", "timestamp": 1774969200, "sent_at": "2026-03-31T15:00:00.000Z",
                             "signature": {"properties": list(properties)}}
    values = [str(transaction[p.split(".")[1]]) for p in properties]
    event["signature"]["checksum"] = wompi.event_checksum(values, 1774969200, secret).upper()
    return json.dumps(event).encode()


def wompi_transaction(tid: str, status: str, cents: int = 3000000, reference: str = "A-1") -> dict[str, Any]:
    return {"id": tid, "amount_in_cents": cents, "reference": reference, "currency": "COP", "status": status,
            "customer_email": "pagador@example.com", "payment_method_type": "NEQUI",
            "created_at": "2026-03-31T14:59:00.000Z", "finalized_at": "2026-03-31T14:59:30.000Z"}


async def test_wompi_approved_once_declined_nothing_forged_refused(gw: Gateway, apis: FakeGatewayApis) -> None:
    hook = await configure(gw, "wompi-principal", WOMPI)
    approved = wompi_transaction("1234-1774969170-10001", "APPROVED")
    apis.wompi_transactions[approved["id"]] = approved  # the API confirms the reference the checksum does not sign
    sent = [await gw.http.post(hook, content=wompi_event(approved), headers={"Content-Type": "application/json"})
            for _ in range(3)]
    assert sent[0].status_code == 200, sent[0].text
    assert [(r.status_code, r.json()["status"]) for r in sent] == [(200, "applied"), (200, "duplicate"),
                                                                   (200, "duplicate")]
    assert await balance(gw) == "70000.00"
    assert apis.asked[0] == "wompi 1234-1774969170-10001" and apis.refused == []
    # Signed over the reference and currency too: nothing to ask the API.
    fully_signed = wompi_transaction("1234-1774969170-10002", "DECLINED")
    declined = await gw.http.post(hook, content=wompi_event(fully_signed, properties=(
        "transaction.id", "transaction.status", "transaction.amount_in_cents", "transaction.reference",
        "transaction.currency")))
    assert (declined.status_code, declined.json()["status"]) == (200, "declined")
    assert "wompi 1234-1774969170-10002" not in apis.asked
    forged = await gw.http.post(hook, content=wompi_event(wompi_transaction("1234-1774969170-10003", "APPROVED"),
                                                          secret="guessed"))
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    assert await balance(gw) == "70000.00"
    assert ("wompi/banco/wompi-principal", "bad_signature", 1) in await rejections(gw)
    # The transaction the API answers says where the money goes, whatever the unsigned body claims.
    tampered = wompi_transaction("1234-1774969170-10004", "APPROVED", reference="A-2")
    apis.wompi_transactions[tampered["id"]] = {**tampered, "reference": "A-1"}
    assert (await gw.http.post(hook, content=wompi_event(tampered))).json()["status"] == "applied"
    assert (await balance(gw), await balance(gw, "A-2")) == ("40000.00", "100000.00")


async def test_new_credentials_are_used_at_once_though_accounts_are_kept_for_a_few_seconds(gw: Gateway) -> None:
    """Each notification finds its account in a cache of a few seconds (handlers.ACCOUNT_TTL_S); the events
    secret an operator rotates through this server verifies the next notification, and the old one no longer does."""
    hook = await configure(gw, "wompi-principal", WOMPI)
    signed = ("transaction.id", "transaction.status", "transaction.amount_in_cents", "transaction.reference",
              "transaction.currency")
    first = wompi_event(wompi_transaction("1234-1774969170-20001", "APPROVED"), properties=signed)
    assert (await gw.http.post(hook, content=first)).json()["status"] == "applied"
    assert await configure(gw, "wompi-principal", {**WOMPI, "events_secret": "test_events_rotado"}) == hook
    old = wompi_event(wompi_transaction("1234-1774969170-20002", "APPROVED"), properties=signed)
    refused = await gw.http.post(hook, content=old)
    assert (refused.status_code, refused.json()["code"]) == (401, "bad_signature")
    new = wompi_event(wompi_transaction("1234-1774969170-20002", "APPROVED"), properties=signed,
                      secret="test_events_rotado")
    assert (await gw.http.post(hook, content=new)).json()["status"] == "applied"
    assert await balance(gw) == "40000.00"


async def test_wompi_api_down_is_a_retry(gw: Gateway, apis: FakeGatewayApis) -> None:
    hook = await configure(gw, "wompi-principal", WOMPI)
    approved = wompi_transaction("1234-1774969170-20001", "APPROVED")
    apis.wompi_transactions[approved["id"]] = approved
    apis.down = True
    down = await gw.http.post(hook, content=wompi_event(approved))
    assert (down.status_code, down.json()["code"]) == (503, "gateway_unreachable")
    apis.down = False
    assert (await gw.http.post(hook, content=wompi_event(approved))).json()["status"] == "applied"
    assert await balance(gw) == "70000.00"


# ------------------------------------------------------------------ Mercado Pago

def mp_signed(data_id: str, *, secret: str = MP_SECRET, request_id: str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e",
              ts: str = "1774969200000") -> dict[str, str]:
    manifest = f"id:{data_id};request-id:{request_id};ts:{ts};"
    v1 = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    return {"x-signature": f"ts={ts},v1={v1}", "x-request-id": request_id, "Content-Type": "application/json"}


def mp_body(data_id: str) -> bytes:
    return json.dumps({"id": 12345, "live_mode": True, "type": "payment", "date_created": "2026-03-31T10:04:58.396-04:00",
                       "user_id": 44444, "api_version": "v1", "action": "payment.updated",
                       "data": {"id": data_id}}).encode()


def mp_payment(pid: str, status: str, amount: str = "30000", reference: str | None = "A-1",
               refunded: str = "0") -> dict[str, Any]:
    return {"id": int(pid), "status": status, "status_detail": "accredited", "transaction_amount": Decimal(amount),
            "transaction_amount_refunded": Decimal(refunded), "currency_id": "COP", "external_reference": reference,
            "payment_type_id": "bank_transfer", "date_created": "2026-03-31T10:00:00.000-04:00",
            "date_approved": "2026-03-31T10:00:05.000-04:00",
            "payer": {"email": "pagador@example.com", "identification": {"type": "CC", "number": "1010"}}}


async def mp_send(gw: Gateway, hook: str, pid: str, **kw: Any) -> Any:
    return await gw.http.post(f"{hook}?{urlencode({'data.id': pid, 'type': 'payment'})}", content=mp_body(pid),
                              headers=mp_signed(pid, **kw))


async def test_mercadopago_fetches_applies_once_refunds_partly_and_retries(gw: Gateway,
                                                                           apis: FakeGatewayApis) -> None:
    hook = await configure(gw, "mp", {"kind": "mercadopago", "access_token": apis.access_token,
                                      "webhook_secret": MP_SECRET, "api_base_url": apis.base_url})
    apis.mp_payments["1001"] = {k: (str(v) if isinstance(v, Decimal) else v)
                                for k, v in mp_payment("1001", "approved").items()}
    apis.down = True
    down = await mp_send(gw, hook, "1001")
    assert (down.status_code, down.json()["code"]) == (503, "gateway_unreachable")
    assert await balance(gw) == "100000.00"
    apis.down = False
    answers = [await mp_send(gw, hook, "1001") for _ in range(2)]
    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "applied"), (200, "duplicate")]
    assert await balance(gw) == "70000.00"
    assert apis.refused == [] and apis.asked.count("mp 1001") == 3
    # A partial refund: the payment now says 10000 of it refunded; told twice, taken back once.
    apis.mp_payments["1001"]["transaction_amount_refunded"] = "10000"
    assert [(await mp_send(gw, hook, "1001")).json()["status"] for _ in range(2)] == ["reversed", "duplicate"]
    assert await balance(gw) == "80000.00"
    apis.mp_payments["1001"].update(status="refunded", transaction_amount_refunded="30000")
    assert (await mp_send(gw, hook, "1001")).json()["status"] == "reversed"
    assert await balance(gw) == "100000.00"
    # Pending and rejected apply nothing; an unknown reference waits in suspense with the gateway and its id.
    apis.mp_payments["1002"] = {**apis.mp_payments["1001"], "id": 1002, "status": "in_process",
                                "transaction_amount_refunded": "0"}
    apis.mp_payments["1003"] = {**apis.mp_payments["1002"], "id": 1003, "status": "rejected"}
    apis.mp_payments["1004"] = {**apis.mp_payments["1002"], "id": 1004, "status": "approved",
                                "external_reference": "NO-EXISTE"}
    assert [(await mp_send(gw, hook, pid)).json()["status"] for pid in ("1002", "1003", "1004")] == [
        "pending", "declined", "unmatched"]
    [waiting] = await suspense(gw)
    assert (waiting["gateway"], waiting["gateway_payment_id"], waiting["reference"]) == ("mercadopago/banco/mp",
                                                                                          "1004", "NO-EXISTE")
    forged = await mp_send(gw, hook, "1002", secret="guessed")
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    unsigned = await gw.http.post(f"{hook}?data.id=1002", content=mp_body("1002"))
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "missing_signature")
    assert await balance(gw) == "100000.00"
    # The payer the API's answers name (e-mail, id number) is kept in no table of payments, the outbox included.
    assert await payments_tables_holding(gw, "pagador@example.com") == []
    assert await payments_tables_holding(gw, '"1010"') == []
    assert {"payments", "gateway_payment_states"} <= set(await payments_tables_holding(gw, "NO-EXISTE"))  # it looks


async def payments_tables_holding(gw: Gateway, needle: str) -> list[str]:
    async with gw.platform.db.transaction() as s:
        tables = (await s.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                       "'payments' AND table_type = 'BASE TABLE'"))).scalars().all()
        return [t for t in tables if await s.scalar(text(
            f"SELECT count(*) FROM payments.{t} r WHERE strpos(CAST(row_to_json(r) AS text), :n) > 0"),
            {"n": needle})]


# ------------------------------------------------------------------ PayU

def payu_form(reference: str, state: str, *, value: str = "30000.00", api_key: str = PAYU["api_key"],
              transaction_id: str = "7a0b8b14-57c7-4d0d-9f5b-1a2b3c4d5e6f") -> bytes:
    sign = payu.confirmation_signature(api_key=api_key, merchant_id="508029", reference_sale=reference,
                                       value=value, currency="COP", state_pol=state)
    return urlencode({"merchant_id": "508029", "state_pol": state, "response_code_pol": "1",
                      "reference_sale": reference, "reference_pol": "7069375", "sign": sign, "value": value,
                      "currency": "COP", "transaction_id": transaction_id, "email_buyer": "pagador@example.com",
                      "payment_method_name": "PSE"}).encode()


async def test_payu_applied_once_per_reference_pending_and_forged(gw: Gateway) -> None:
    hook = await configure(gw, "payu", PAYU)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    pending = await gw.http.post(hook, content=payu_form("A-1", "7"), headers=form)
    assert (pending.status_code, pending.json()["status"]) == (200, "pending")
    approved = await gw.http.post(hook, content=payu_form("A-1", "4"), headers=form)
    replayed = await gw.http.post(hook, content=payu_form("A-1", "4", transaction_id="another-id"), headers=form)
    # Another transaction_id under an approved reference: money PayU took twice for one order, in suspense.
    assert [(r.status_code, r.json()["status"]) for r in (approved, replayed)] == [(200, "applied"),
                                                                                  (200, "unmatched")]
    assert await balance(gw) == "70000.00"
    forged = await gw.http.post(hook, content=payu_form("A-2", "4", api_key="guessed"), headers=form)
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    assert await balance(gw, "A-2") == "100000.00"
    assert ("payu/banco/payu", "bad_signature", 1) in await rejections(gw)


async def test_payu_unknown_reference_waits_in_suspense_under_its_transaction_id(gw: Gateway) -> None:
    """Booked under its signed reference, shown with PayU's transaction_id: what PayU's dashboard finds it by."""
    hook = await configure(gw, "payu", PAYU)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = await gw.http.post(hook, content=payu_form("NO-EXISTE", "4", transaction_id="tx-unknown-1"),
                                headers=form)
    assert (answer.status_code, answer.json()["status"]) == (200, "unmatched")
    [waiting] = await suspense(gw)
    assert (waiting["gateway"], waiting["gateway_payment_id"], waiting["reference"]) == (
        "payu/banco/payu", "tx-unknown-1", "NO-EXISTE")


# ------------------------------------------------------------------ Stripe

def stripe_send_args(event_type: str, data_object: dict[str, Any], *, at: dt.datetime = NOW,
                     secret: str = STRIPE["webhook_secret"], event_id: str = "evt_1") -> tuple[bytes, dict[str, str]]:
    raw = json.dumps({"id": event_id, "object": "event", "type": event_type, "livemode": False,
                      "created": int(at.timestamp()), "data": {"object": data_object}}).encode()
    t = int(at.timestamp())
    return raw, {"Stripe-Signature": f"t={t},v1={stripe.sign(raw, secret, t)}", "Content-Type": "application/json"}


def session(status: str, reference: str = "A-1") -> dict[str, Any]:
    return {"id": "cs_test_a1", "object": "checkout.session", "payment_intent": "pi_3Q1", "payment_status": status,
            "amount_total": 3000000, "currency": "cop", "client_reference_id": reference,
            "customer_details": {"email": "pagador@example.com", "name": "Pagador"}, "created": int(NOW.timestamp())}


def charge(refunded: int) -> dict[str, Any]:
    return {"id": "ch_3Q1", "object": "charge", "payment_intent": "pi_3Q1", "amount": 3000000,
            "amount_refunded": refunded, "currency": "cop", "refunded": refunded == 3000000,
            "created": int(NOW.timestamp())}


async def test_stripe_delayed_payment_cumulative_refunds_and_stale(gw: Gateway) -> None:
    hook = await configure(gw, "stripe", STRIPE)

    async def send(event_type: str, data_object: dict[str, Any], **kw: Any) -> Any:
        raw, headers = stripe_send_args(event_type, data_object, **kw)
        return await gw.http.post(hook, content=raw, headers=headers)

    assert (await send("checkout.session.completed", session("unpaid"))).json()["status"] == "pending"
    assert await balance(gw) == "100000.00"
    paid = [await send("checkout.session.async_payment_succeeded", session("paid")) for _ in range(2)]
    assert [(r.status_code, r.json()["status"]) for r in paid] == [(200, "applied"), (200, "duplicate")]
    assert await balance(gw) == "70000.00"
    # Cumulative refunds: 10,000 then 25,000 in all books 10,000 then 15,000; each told again books nothing.
    outcomes = [(await send("charge.refunded", charge(refunded))).json()["status"]
                for refunded in (1000000, 1000000, 2500000, 2500000)]
    assert outcomes == ["reversed", "duplicate", "reversed", "duplicate"]
    assert await balance(gw) == "95000.00"
    stale = await send("checkout.session.completed", session("paid", "A-2"), at=NOW - dt.timedelta(seconds=301))
    wrong = await send("checkout.session.completed", session("paid", "A-2"), secret="whsec_guessed")
    assert [(r.status_code, r.json()["code"]) for r in (stale, wrong)] == [(401, "stale_signature"),
                                                                           (401, "bad_signature")]
    assert await balance(gw, "A-2") == "100000.00"
    reasons = {(g, r) for g, r, _ in await rejections(gw)}
    assert {("stripe/banco/stripe", "stale_signature"), ("stripe/banco/stripe", "bad_signature")} <= reasons
    other_currency = await send("checkout.session.completed", {**session("paid", "A-2"), "id": "cs_usd",
                                                                "payment_intent": "pi_usd", "currency": "usd"})
    assert other_currency.json()["status"] == "unmatched"
    assert [(p["gateway_payment_id"], p["reason"]) for p in await suspense(gw)] == [("pi_usd", "currency_mismatch")]


async def test_concurrent_redeliveries_apply_once(gw: Gateway, apis: FakeGatewayApis) -> None:
    """Gateways redeliver while the first delivery is still being booked: the unique record decides."""
    hook = await configure(gw, "stripe", STRIPE)
    raw, headers = stripe_send_args("checkout.session.completed", session("paid"))
    racing = await asyncio.gather(*(gw.http.post(hook, content=raw, headers=headers) for _ in range(6)))
    assert sorted((r.status_code, r.json()["status"]) for r in racing) == [(200, "applied")] + [(200, "duplicate")] * 5
    payu_hook = await configure(gw, "payu", PAYU)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    racing = await asyncio.gather(*(gw.http.post(payu_hook, content=payu_form("A-2", "4", transaction_id=f"t{i}"),
                                                 headers=form) for i in range(6)))
    # Applied once; each other transaction under the approved reference waits in suspense (duplicate_reference).
    assert sorted(r.json()["status"] for r in racing) == ["applied"] + ["unmatched"] * 5
    assert (await balance(gw), await balance(gw, "A-2")) == ("70000.00", "70000.00")


async def test_a_payment_in_another_currency_cannot_be_assigned_to_an_account(gw: Gateway) -> None:
    hook = await configure(gw, "stripe", STRIPE)
    raw, headers = stripe_send_args("checkout.session.completed", {**session("paid"), "currency": "usd"})
    assert (await gw.http.post(hook, content=raw, headers=headers)).json()["status"] == "unmatched"
    [waiting] = await suspense(gw)
    assert (waiting["currency"], waiting["amount"], waiting["reason"]) == ("USD", "30000.00", "currency_mismatch")
    assigned = await gw.http.post(f"/v1/clients/banco/payments/unmatched/{waiting['id']}/assign",
                                  json={"account_ref": "A-1"}, headers=gw.as_operator())
    assert (assigned.status_code, assigned.json()["code"]) == (422, "invalid_currency")
    assert await balance(gw) == "100000.00"


async def test_a_dispute_and_a_wompi_void_take_the_money_back(gw: Gateway, apis: FakeGatewayApis) -> None:
    hook = await configure(gw, "stripe", STRIPE)
    raw, headers = stripe_send_args("checkout.session.completed", session("paid"))
    assert (await gw.http.post(hook, content=raw, headers=headers)).json()["status"] == "applied"
    dispute = {"id": "dp_1", "object": "dispute", "amount": 1200000, "currency": "cop", "charge": "ch_3Q1",
               "payment_intent": "pi_3Q1", "status": "needs_response", "created": int(NOW.timestamp())}
    raw, headers = stripe_send_args("charge.dispute.created", dispute, event_id="evt_2")
    answers = [(await gw.http.post(hook, content=raw, headers=headers)).json()["status"] for _ in range(2)]
    assert answers == ["reversed", "duplicate"]
    assert await balance(gw) == "82000.00"
    wompi_hook = await configure(gw, "wompi-principal", WOMPI)
    signed_all = ("transaction.id", "transaction.status", "transaction.amount_in_cents", "transaction.reference",
                  "transaction.currency")
    approved = wompi_transaction("1234-1774969170-30001", "APPROVED", reference="A-2")
    assert (await gw.http.post(wompi_hook, content=wompi_event(approved, properties=signed_all))
            ).json()["status"] == "applied"
    voided = {**approved, "status": "VOIDED"}
    answers = [(await gw.http.post(wompi_hook, content=wompi_event(voided, properties=signed_all))).json()["status"]
               for _ in range(2)]
    assert answers == ["reversed", "duplicate"]
    assert await balance(gw, "A-2") == "100000.00"
    # Voided before its approval reached us (a stale approval retried after the void): nothing is ever applied.
    late = wompi_transaction("1234-1774969170-30002", "VOIDED", reference="A-2")
    assert (await gw.http.post(wompi_hook, content=wompi_event(late, properties=signed_all))).status_code == 200
    stale = {**late, "status": "APPROVED"}
    assert (await gw.http.post(wompi_hook, content=wompi_event(stale, properties=signed_all))
            ).json()["status"] == "ignored"
    assert await balance(gw, "A-2") == "100000.00"


async def test_a_mercadopago_payment_already_partly_refunded_when_first_asked(gw: Gateway,
                                                                             apis: FakeGatewayApis) -> None:
    hook = await configure(gw, "mp", {"kind": "mercadopago", "access_token": apis.access_token,
                                      "webhook_secret": MP_SECRET, "api_base_url": apis.base_url})
    apis.mp_payments["2001"] = {k: (str(v) if isinstance(v, Decimal) else v)
                                for k, v in mp_payment("2001", "approved", refunded="5000").items()}
    assert [(await mp_send(gw, hook, "2001")).json()["status"] for _ in range(2)] == ["applied", "duplicate"]
    assert await balance(gw) == "75000.00"
