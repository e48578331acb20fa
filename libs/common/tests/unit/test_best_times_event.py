"""contact.best_times_learned: a client company's few best slots per segment and channel, bounded, keyed by the
client company, its rates exact decimals on the wire, and nothing in it that could name a person."""

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from recaudo_common.events import (
    BEST_SLOTS_PER_CHANNEL,
    MAX_BEST_SLOTS,
    BestSlot,
    ContactBestTimesLearned,
    Envelope,
    decode,
)

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def slot(rank: int = 1, rate: str = "0.3125", segment: str = "31-60/high") -> BestSlot:
    return BestSlot(segment=segment, channel="sms", rank=rank, dow=1, hour=19, label="martes 19h",
                    rate=Decimal(rate), n=420)


def test_it_round_trips_keyed_by_the_client_company_with_exact_rates() -> None:
    event = ContactBestTimesLearned(learned_at=NOW, slots=[slot(1, "0.3125"), slot(2, "0.3000")])
    envelope = event.envelope(client="banco", occurred_at=NOW)
    assert envelope.key == "banco"  # one client company's announcements stay in order
    wire = envelope.model_dump_json()
    assert '"0.3125"' in wire  # a decimal string, never a float
    back = decode(Envelope.model_validate_json(wire))
    assert back == event


def test_it_carries_only_slots_no_one_could_be_named_by() -> None:
    assert set(ContactBestTimesLearned.model_fields) == {"learned_at", "slots"}
    assert set(BestSlot.model_fields) == {"segment", "channel", "rank", "dow", "hour", "label", "rate", "n"}


def test_it_is_bounded() -> None:
    with pytest.raises(ValidationError):
        ContactBestTimesLearned(learned_at=NOW, slots=[slot(segment=f"s{i}") for i in range(MAX_BEST_SLOTS + 1)])
    with pytest.raises(ValidationError):
        slot(rank=BEST_SLOTS_PER_CHANNEL + 1)
    with pytest.raises(ValidationError):
        slot(rate="0.31251")  # four decimal places at most
    with pytest.raises(ValidationError):
        BestSlot(segment="s", channel="sms", rank=1, dow=7, hour=24, label="x", rate=Decimal("0.1"), n=1)
    assert ContactBestTimesLearned(learned_at=NOW, slots=[]).slots == []  # nothing learned any more
