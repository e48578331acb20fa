"""Stripe's Stripe-Signature and the events a collection reads, against what its documentation publishes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.gateways.domain.notifications import (
    GatewayPayment,
    GatewayReinstatement,
    GatewayReversal,
    MalformedNotification,
    UnverifiedNotification,
)
from payments.gateways.domain.stripe import major, read_event, verify_signature
from recaudo_common.domain_errors import DomainError

pytestmark = pytest.mark.unit

SECRET = "whsec_test_secret"  # stripe-python's tests/test_webhook.py
T = 1764770400
NOW = dt.datetime.fromtimestamp(T, dt.UTC)


def header(raw: bytes, *, t: int = T, secret: str = SECRET, extra: str = "") -> str:
    v1 = hmac.new(secret.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}{extra}"


def event(event_type: str, data_object: dict[str, Any]) -> bytes:
    return json.dumps({"id": "evt_1Q", "object": "event", "type": event_type, "livemode": False, "created": T,
                       "data": {"object": data_object}}).encode()


# https://docs.stripe.com/webhooks#verify-manually: the header example, with a v0 beside the v1.
DOC_HEADER = ("t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,"
              "v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39")


def test_the_documented_header_parses_and_cannot_be_reproduced() -> None:
    """The docs publish the header but neither the body nor the secret it signs, so it cannot verify; it parses
    (one t, one v1, the v0 ignored): the refusal is bad_signature, not malformed_signature. The algorithm is
    checked instead: HMAC-SHA256 hex of "{t}.{body}", as stripe-python computes it."""
    with pytest.raises(UnverifiedNotification) as refused:
        verify_signature(b"{}", DOC_HEADER, secrets=[SECRET], now=dt.datetime.fromtimestamp(1492774577, dt.UTC))
    assert refused.value.code == "bad_signature"
    raw = b'{\n  "id": "evt_test_webhook",\n  "object": "event"\n}'
    assert verify_signature(raw, header(raw), secrets=[SECRET], now=NOW) == NOW


@pytest.mark.parametrize("offset,accepted", [(0, True), (-300, True), (300, True), (-301, False), (301, False),
                                             (-86400, False)])
def test_the_tolerance_edges_either_way(offset: int, accepted: bool) -> None:
    raw = b'{"id": "evt_1"}'
    signed = header(raw, t=T + offset)
    if accepted:
        verify_signature(raw, signed, secrets=[SECRET], now=NOW)
    else:
        with pytest.raises(UnverifiedNotification) as refused:
            verify_signature(raw, signed, secrets=[SECRET], now=NOW)
        assert refused.value.code == "stale_signature"


def test_any_v1_counts_while_a_secret_rolls() -> None:
    raw = b'{"id": "evt_1"}'
    new = header(raw, secret="whsec_new").split(",")[1]
    old = header(raw).split(",")[1]
    both = f"t={T},{new},{old},v0={'0' * 64}"
    assert verify_signature(raw, both, secrets=[SECRET], now=NOW) == NOW
    assert verify_signature(raw, both, secrets=["whsec_new"], now=NOW) == NOW
    assert verify_signature(raw, f"t={T},v1={'0' * 64},{old}", secrets=["whsec_other", SECRET], now=NOW) == NOW


def test_one_changed_byte_and_a_wrong_secret_fail() -> None:
    raw = b'{"id": "evt_1", "amount": 1000}'
    signed = header(raw)
    for i in range(len(raw)):
        tampered = raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1:]
        with pytest.raises(UnverifiedNotification):
            verify_signature(tampered, signed, secrets=[SECRET], now=NOW)
    with pytest.raises(UnverifiedNotification):
        verify_signature(raw, signed, secrets=["whsec_wrong"], now=NOW)
    with pytest.raises(UnverifiedNotification):  # a timestamp changed in the header is a changed signed payload
        verify_signature(raw, signed.replace(f"t={T}", f"t={T + 1}"), secrets=[SECRET], now=NOW)


@pytest.mark.parametrize("bad", [None, "", "garbage", f"v1={'a' * 64}", f"t={T}", f"t=abc,v1={'a' * 64}",
                                 f"t={T},t={T},v1={'a' * 64}", f"t={T},v0={'a' * 64}", f"t={T},v1=xyz",
                                 f"t=9999999999999999999,v1={'a' * 64}", f"t=٣٣,v1={'a' * 64}"])
def test_malformed_headers_are_refused(bad: str | None) -> None:
    with pytest.raises(UnverifiedNotification) as refused:
        verify_signature(b"{}", bad, secrets=[SECRET], now=NOW)
    assert refused.value.code in {"missing_signature", "malformed_signature"}


@given(text=st.text(max_size=200))
def test_any_header_text_is_refused_not_crashed(text: str) -> None:
    with pytest.raises(UnverifiedNotification):
        verify_signature(b"{}", text, secrets=[SECRET], now=NOW)


# https://docs.stripe.com/api/checkout/sessions/object (fields as documented, values ours)
SESSION: dict[str, Any] = {
    "id": "cs_test_a1", "object": "checkout.session", "amount_total": 3500000, "currency": "cop",
    "client_reference_id": "REC-7F3K9", "metadata": {}, "mode": "payment", "payment_intent": "pi_3Q1",
    "payment_status": "paid", "status": "complete", "created": T - 60,
    "customer_details": {"email": "ana@example.com", "name": "Ana Pérez", "phone": "+573001234567",
                         "address": {"city": "Bogotá"}},
}


def read(event_type: str, data_object: dict[str, Any]) -> GatewayPayment | GatewayReversal | GatewayReinstatement | None:
    raw = event(event_type, data_object)
    return read_event(raw, header(raw), secrets=[SECRET], now=NOW).effect


def test_a_completed_paid_session_is_an_approved_payment() -> None:
    payment = read("checkout.session.completed", SESSION)
    assert isinstance(payment, GatewayPayment)
    assert (payment.gateway, payment.payment_id, payment.reference, payment.status, payment.amount, payment.currency) \
        == ("stripe", "pi_3Q1", "REC-7F3K9", "approved", Decimal("35000.00"), "COP")
    assert payment.payer.email == "ana@example.com" and "ana@" not in repr(payment)
    assert payment.occurred_at == NOW - dt.timedelta(seconds=60)


@pytest.mark.parametrize("event_type,payment_status,status", [
    ("checkout.session.completed", "unpaid", "pending"),
    ("checkout.session.completed", "no_payment_required", "voided"),
    ("checkout.session.async_payment_succeeded", "paid", "approved"),
    ("checkout.session.async_payment_failed", "unpaid", "declined"),
    ("checkout.session.expired", "unpaid", "expired"),
])
def test_delayed_methods_are_pending_then_confirmed_or_failed(event_type: str, payment_status: str,
                                                              status: str) -> None:
    payment = read(event_type, {**SESSION, "payment_status": payment_status})
    assert isinstance(payment, GatewayPayment) and payment.status == status and payment.payment_id == "pi_3Q1"


def test_the_reference_may_come_from_metadata_and_the_id_from_the_session() -> None:
    payment = read("checkout.session.completed", {**SESSION, "client_reference_id": None,
                                                  "metadata": {"reference": "REC-9"}, "payment_intent": None})
    assert isinstance(payment, GatewayPayment) and (payment.reference, payment.payment_id) == ("REC-9", "cs_test_a1")
    expanded = read("checkout.session.completed", {**SESSION, "payment_intent": {"id": "pi_X", "object": "payment_intent"}})
    assert isinstance(expanded, GatewayPayment) and expanded.payment_id == "pi_X"


def test_a_partial_then_full_refund_is_cumulative_per_charge() -> None:
    charge = {"id": "ch_3Q1", "object": "charge", "amount": 3500000, "amount_refunded": 1000000, "currency": "cop",
              "payment_intent": "pi_3Q1", "refunded": False, "created": T - 600}
    first = read("charge.refunded", charge)
    second = read("charge.refunded", {**charge, "amount_refunded": 3500000, "refunded": True})
    assert isinstance(first, GatewayReversal) and isinstance(second, GatewayReversal)
    assert (first.kind, first.refers_to, first.amount, first.cumulative, first.gateway_status) == (
        "refunded", "pi_3Q1", Decimal("10000.00"), True, "partially_refunded")
    assert second.amount == Decimal("35000.00") and second.reversal_id != first.reversal_id


def test_a_dispute_is_a_chargeback_of_its_amount() -> None:
    chargeback = read("charge.dispute.created", {"id": "dp_1", "object": "dispute", "amount": 3500000,
                                                 "currency": "cop", "charge": "ch_3Q1", "payment_intent": "pi_3Q1",
                                                 "status": "needs_response", "created": T})
    assert isinstance(chargeback, GatewayReversal)
    assert (chargeback.reversal_id, chargeback.refers_to, chargeback.kind, chargeback.amount, chargeback.currency) == (
        "dp_1", "pi_3Q1", "charged_back", Decimal("35000.00"), "COP")


def test_the_withdrawal_of_a_dispute_is_the_same_chargeback_and_an_inquiry_takes_nothing() -> None:
    dispute = {"id": "dp_1", "object": "dispute", "amount": 3500000, "currency": "cop", "charge": "ch_3Q1",
               "status": "needs_response", "created": T - 86400}
    withdrawn = read("charge.dispute.funds_withdrawn", dispute)
    assert isinstance(withdrawn, GatewayReversal)
    assert (withdrawn.reversal_id, withdrawn.refers_to, withdrawn.kind) == ("dp_1", "ch_3Q1", "charged_back")
    # https://docs.stripe.com/disputes: an inquiry or retrieval, "no funds have been withdrawn".
    for status in ("warning_needs_response", "warning_under_review"):
        assert read("charge.dispute.created", {**dispute, "status": status}) is None


def test_a_dispute_won_reinstates_its_amount_when_the_event_happened() -> None:
    won = read("charge.dispute.funds_reinstated", {
        "id": "dp_1", "object": "dispute", "amount": 3500000, "currency": "cop", "charge": {"id": "ch_3Q1"},
        "payment_intent": {"id": "pi_3Q1", "object": "payment_intent"}, "status": "won", "created": T - 86400 * 60})
    assert isinstance(won, GatewayReinstatement)
    assert (won.dispute_id, won.refers_to, won.amount, won.currency, won.gateway_status) == (
        "dp_1", "pi_3Q1", Decimal("35000.00"), "COP", "won")
    assert won.occurred_at == NOW  # the event's created, not the dispute's (opened two months earlier)


def test_a_dispute_event_carries_a_dispute() -> None:
    with pytest.raises(MalformedNotification):
        read("charge.dispute.funds_reinstated", {"id": "ch_1", "object": "charge", "amount": 1, "currency": "cop",
                                                 "charge": "ch_1"})


def test_other_event_types_verify_without_an_effect() -> None:
    raw = event("customer.created", {"id": "cus_1", "object": "customer"})
    verified = read_event(raw, header(raw), secrets=[SECRET], now=NOW)
    assert (verified.event_type, verified.effect, verified.livemode) == ("customer.created", None, False)


# https://docs.stripe.com/currencies: "1000 to charge 10 USD", "10 to charge 10 JPY"; special cases: "to charge
# 5 ISK, provide an amount value of 500", the same for UGX, which the same page also lists as zero-decimal (its
# special case is what the API does, and wins here); three-decimal currencies count thousandths.
@pytest.mark.parametrize("amount,currency,expected", [
    (1000, "usd", Decimal("10.00")), (10, "jpy", Decimal("10")), (500, "isk", Decimal("5.00")),
    (500, "ugx", Decimal("5.00")), (3500000, "cop", Decimal("35000.00")), (15000, "clp", Decimal("15000")),
    (1230, "kwd", Decimal("1.230")), (12345, "mxn", Decimal("123.45")),
])
def test_minor_units_by_currency(amount: int, currency: str, expected: Decimal) -> None:
    assert major(amount, currency) == expected and str(major(amount, currency)) == str(expected)


@pytest.mark.parametrize("field,value", [
    ("amount_total", None), ("amount_total", "3500000"), ("amount_total", -1), ("amount_total", 10**20),
    ("amount_total", 35000.5), ("amount_total", True), ("currency", "pesos"), ("currency", None), ("id", None),
    ("payment_status", None), ("client_reference_id", "r" * 1000), ("customer_details", "ana"),
    ("object", "charge"), ("created", "yesterday"), ("created", 10**15),
])
def test_malformed_sessions_are_refused(field: str, value: Any) -> None:
    with pytest.raises(MalformedNotification):
        read("checkout.session.completed", {**SESSION, field: value})


@pytest.mark.parametrize("body", [b"", b"[]", b"{", b"\xff\xfe", b"[" * 50_000, b'{"type": "x", "data": 1}',
                                  b'{"id": "e", "type": "charge.refunded", "data": {"object": {"id": "ch"}}}',
                                  b'{"id": "e", "type": "charge.dispute.created", "data": {"object": {"id": "dp", '
                                  b'"amount": 1, "currency": "usd"}}}', b'{"n": NaN}', b"{}" + b" " * 300_000])
def test_hostile_bodies_signed_correctly_are_refused_as_domain_errors(body: bytes) -> None:
    with pytest.raises(DomainError):
        read_event(body, header(body), secrets=[SECRET], now=NOW)


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
KEYS = st.sampled_from(["id", "object", "amount", "amount_total", "amount_refunded", "currency", "payment_status",
                        "payment_intent", "charge", "client_reference_id", "metadata", "reference", "customer_details",
                        "email", "created", "refunded", "status"]) | st.text(max_size=6)
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(KEYS, inner, max_size=6), max_leaves=25)


@given(event_type=st.sampled_from(["checkout.session.completed", "checkout.session.async_payment_succeeded",
                                   "charge.refunded", "charge.dispute.created", "charge.dispute.funds_withdrawn",
                                   "charge.dispute.funds_reinstated", "other"]),
       data_object=st.dictionaries(KEYS, JSON_VALUES, max_size=10))
def test_any_signed_object_is_read_or_refused_never_crashed(event_type: str, data_object: dict[str, Any]) -> None:
    raw = event(event_type, data_object)
    try:
        read_event(raw, header(raw), secrets=[SECRET], now=NOW)
    except DomainError:
        pass
