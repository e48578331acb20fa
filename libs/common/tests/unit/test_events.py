"""The envelope and the catalogue: every event round-trips through JSON with its type and version."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import REGISTRY, AccountPlaced, Envelope, PaymentApplied, decode

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 5, 14, 0, tzinfo=dt.UTC)


def test_envelope_carries_key_correlation_and_causation() -> None:
    placed = AccountPlaced(account_ref="A-1", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False, has_email=False,
                           balance=Decimal("1500.50"), currency="COP", days_past_due=45, as_of=NOW.date(),
                           authorised_channels=["sms"])
    first = placed.envelope(client="banco", occurred_at=NOW)
    assert first.key == "banco/A-1"
    assert first.correlation_id == first.event_id and first.causation_id is None
    assert first.event_id.version == 7

    paid = PaymentApplied(payment_id=uuid.uuid4(), account_ref="A-1", amount=Decimal("100.10"), currency="COP",
                          paid_at=NOW, source="manual", new_balance=Decimal("1400.40"), account_status="open")
    second = paid.envelope(client="banco", occurred_at=NOW, causation=first)
    assert second.correlation_id == first.correlation_id
    assert second.causation_id == first.event_id


def test_money_survives_json_exactly() -> None:
    placed = AccountPlaced(account_ref="A-1", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False, has_email=False,
                           balance=Decimal("1234567.89"), currency="COP", days_past_due=1, as_of=NOW.date(),
                           authorised_channels=[])
    wire = placed.envelope(client="banco", occurred_at=NOW).model_dump_json()
    back = decode(Envelope.model_validate_json(wire))
    assert isinstance(back, AccountPlaced)
    assert back.balance == Decimal("1234567.89")
    assert '"1234567.89"' in wire  # a decimal string on the wire, never a float


def test_every_event_declares_its_contract() -> None:
    families = {"client", "account", "contact", "promise", "arrangement", "payment", "debtor"}
    for (event_type, version), cls in REGISTRY.items():
        assert event_type.split(".")[0] == cls.family and cls.family in families
        assert version >= 1
        # A confirmation every erasing service publishes names them all.
        assert set(cls.producer.split(", ")) <= {"ingest", "segmentation", "outreach", "payments", "reporting"}
        assert cls.summary
        assert cls.model_config.get("frozen") is True


def test_unknown_version_is_refused() -> None:
    from recaudo_common.events import UnknownEventError

    envelope = Envelope(event_id=uuid.uuid4(), type="account.placed", version=99, occurred_at=NOW, client="c",
                        key="c/x", correlation_id=uuid.uuid4(), payload={})
    with pytest.raises(UnknownEventError):
        decode(envelope)
