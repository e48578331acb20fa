"""payment.applied says how a payment was made in the platform's vocabulary, never in the words its source gave: an
operator's free text may name the payer, and the payment topic and its dead letters are kept where no erasure
reaches. Version 1 events already on the topic still decode, their words classified and dropped."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from pydantic import ValidationError

from recaudo_common.events import PAYMENT_METHODS, PaymentApplied, PaymentAppliedV1, decode, decode_json
from recaudo_common.events.payment_methods import payment_method_of

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 4, 1, 15, tzinfo=dt.UTC)
WORDS = "transferencia de Ana Gómez CC 1020304050"
FIELDS = {"payment_id": uuid.uuid4(), "account_ref": "A-1", "amount": Decimal("30000.00"), "currency": "COP",
          "paid_at": NOW, "source": "manual", "new_balance": Decimal("70000.00"), "account_status": "open"}


def test_the_event_refuses_free_text_for_the_method() -> None:
    with pytest.raises(ValidationError):
        PaymentApplied(**FIELDS, method=WORDS)  # type: ignore[arg-type]
    envelope = PaymentApplied(**FIELDS, method="bank_transfer").envelope(client="banco", occurred_at=NOW)
    assert (envelope.version, envelope.payload["method"]) == (2, "bank_transfer")


def test_a_version_1_event_on_the_topic_decodes_without_its_words() -> None:
    old = PaymentAppliedV1(**FIELDS, method=WORDS).envelope(client="banco", occurred_at=NOW)
    assert old.version == 1 and old.payload["method"] == WORDS
    for event in (decode(old), decode_json(old.model_dump_json(), PaymentAppliedV1)[1]):
        assert isinstance(event, PaymentApplied) and event.method == "other"
        assert "Gómez" not in event.model_dump_json() and "1020304050" not in event.model_dump_json()
        assert (event.amount, event.account_ref, event.account_status) == (Decimal("30000.00"), "A-1", "open")
    known = PaymentAppliedV1(**FIELDS, method="PSE").envelope(client="banco", occurred_at=NOW)
    assert decode(known).method == "bank_transfer"  # type: ignore[attr-defined]
    assert decode(PaymentAppliedV1(**FIELDS).envelope(client="banco", occurred_at=NOW)).method is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(("words", "method"), [
    # The console's choices, as an operator may also type them.
    ("consignacion", "bank_deposit"), ("Consignación", "bank_deposit"), ("transferencia", "bank_transfer"),
    ("efectivo", "cash"), ("Efectivo en caja", "cash"), ("cheque", "cheque"), ("otro", "other"),
    # Bank files (a CSV statement, an Asobancaria file).
    ("bank_transfer", "bank_transfer"), ("bank_collection", "bank_collection"),
    # Wompi, Mercado Pago, PayU and Stripe, as their adapters read them.
    ("CARD", "card"), ("NEQUI", "wallet"), ("PSE", "bank_transfer"), ("BANCOLOMBIA_COLLECT", "cash"),
    ("credit_card", "card"), ("ticket", "cash"), ("account_money", "wallet"), ("VISA", "card"), ("EFECTY", "cash"),
    ("oxxo", "cash"), ("card", "card"),
    # Anything else says no more than `other`; nothing says nothing.
    (WORDS, "other"), ("pago de ana.gomez@correo.co", "other"), ("sandbox", "other"), (None, None), ("  ", None),
])
def test_a_sources_words_are_one_of_the_platforms_methods(words: str | None, method: str | None) -> None:
    assert payment_method_of(words) == method
    assert method is None or method in PAYMENT_METHODS
