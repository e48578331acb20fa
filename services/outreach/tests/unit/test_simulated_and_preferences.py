"""Rules of #20's opt-out everywhere and simulated contacts: the sandbox's attempts, and only its, are simulated;
the debtor page can name every channel in Spanish; a phone channel's contact point is the account's first phone."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from outreach.debtor_page.handlers import CHANNEL_NAMES
from outreach.debtors import recipient
from outreach.sending.events import attempted
from recaudo_common.events import ContactAttempted
from recaudo_common.events.channels import CHANNELS

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("provider", "simulated"), [("sandbox", True), ("twilio", False), ("smtp", False),
                                                     ("whatsapp_cloud", False), ("agent", False)])
def test_only_the_sandboxs_attempts_are_simulated(provider: str, simulated: bool) -> None:
    event = attempted("A-1", uuid.uuid4(), "sms", provider=provider, cost=Decimal("0.01"), template="t",
                      segments=2, now=NOW)
    assert event.simulated is simulated and event.cost == Decimal("0.02")


def test_an_attempt_from_before_the_field_reads_as_real() -> None:
    old = {"attempt_id": str(uuid.uuid4()), "account_ref": "A-1", "channel": "sms", "provider": "sandbox",
           "attempted_at": NOW.isoformat(), "cost": "0.01"}
    assert ContactAttempted.model_validate(old).simulated is False  # additive: old events stay readable


def test_the_page_names_every_channel_in_spanish() -> None:
    assert set(CHANNEL_NAMES) == set(CHANNELS)
    assert CHANNEL_NAMES["email"] == "correo electrónico" and CHANNEL_NAMES["sms"] == "SMS"


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "voice", "agent"])
def test_every_phone_channel_dials_the_first_phone(channel: str) -> None:
    """Why a wrong number marks the account's first phone when the contact names no message: it is the one every
    phone channel and an agent's call use."""
    assert recipient(channel, phones=("+573001234567", "+573109876543"), email="x@example.com",
                     address=None) == "+573001234567"
    assert recipient(channel, phones=(), email="x@example.com", address=None) is None
