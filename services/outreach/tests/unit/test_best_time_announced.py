"""What a relearning announces (contact.best_times_learned): each segment and channel's few best slots with their
rank, the earliest among equal rates first as planning picks, bounded however many segments a client company has,
and the planted windows of a synthetic history recovered in it."""

import datetime as dt
from decimal import Decimal

import pytest

from outreach.best_time.handlers import learned_event
from outreach.domain.best_time import LearnedWindow, Observation, best_of_each, learn
from recaudo_common.events import BEST_SLOTS_PER_CHANNEL, MAX_BEST_SLOTS, ContactBestTimesLearned, decode

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def history() -> list[Observation]:
    """Evenings answer for "tarde" (18h), mornings for "manana" (8h), on weekdays; SMS and e-mail."""
    return [Observation(segment, channel, dow, hour, 10, 4 if hour == good else 0)
            for segment, good in (("tarde", 18), ("manana", 8)) for channel in ("sms", "email")
            for dow in range(5) for hour in range(7, 19)]


def test_the_announcement_holds_each_segment_and_channels_best_slots_ranked() -> None:
    windows = learn(history(), prior_strength=20)
    envelope = learned_event("banco", windows, NOW)
    assert (envelope.type, envelope.key, envelope.client) == ("contact.best_times_learned", "banco", "banco")
    event = decode(envelope)
    assert isinstance(event, ContactBestTimesLearned) and event.learned_at == NOW
    assert len(event.slots) == 2 * 2 * BEST_SLOTS_PER_CHANNEL  # not 4 x 168 cells
    best = {(s.segment, s.channel): s for s in event.slots if s.rank == 1}
    assert {k: (s.dow, s.hour, s.label) for k, s in best.items()} == {
        ("tarde", "sms"): (0, 18, "lunes 18h"), ("tarde", "email"): (0, 18, "lunes 18h"),
        ("manana", "sms"): (0, 8, "lunes 8h"), ("manana", "email"): (0, 8, "lunes 8h")}  # equal days: the first
    tarde_sms = [s for s in event.slots if (s.segment, s.channel) == ("tarde", "sms")]
    assert [(s.rank, s.label) for s in tarde_sms] == [(1, "lunes 18h"), (2, "martes 18h"), (3, "miércoles 18h")]
    learned = next(w for w in windows if (w.segment, w.channel, w.dow, w.hour) == ("tarde", "sms", 0, 18))
    assert best[("tarde", "sms")].n == learned.n == 10
    assert best[("tarde", "sms")].rate == Decimal(learned.rate).quantize(Decimal("0.0001"))  # four places, exact
    assert best[("tarde", "sms")].rate > max(w.rate for w in windows if w.segment == "tarde" and w.hour != 18) + 0.05


def test_nothing_learned_announces_no_slots() -> None:
    event = decode(learned_event("banco", [], NOW))
    assert isinstance(event, ContactBestTimesLearned) and event.slots == []


def window(segment: str, dow: int, hour: int, rate: float, n: int = 10) -> LearnedWindow:
    return LearnedWindow(segment, "sms", dow, hour, rate, n)


def test_the_earliest_of_equal_rates_ranks_first() -> None:
    ranked = best_of_each([window("s", 3, 9, 0.2), window("s", 1, 19, 0.3), window("s", 0, 19, 0.3),
                           window("s", 2, 8, 0.1)], per_channel=3, limit=10)
    assert [(rank, w.dow, w.hour) for rank, w in ranked] == [(1, 0, 19), (2, 1, 19), (3, 3, 9)]


def test_a_client_company_with_very_many_segments_announces_its_busiest_within_the_bound() -> None:
    windows = [window(f"seg-{i:04d}", d, 9, 0.1 + d / 100, n=i) for i in range(1000) for d in range(5)]
    event = decode(learned_event("banco", windows, NOW))
    assert isinstance(event, ContactBestTimesLearned)
    assert len(event.slots) == MAX_BEST_SLOTS
    kept = {s.segment for s in event.slots}
    assert len(kept) == MAX_BEST_SLOTS // BEST_SLOTS_PER_CHANNEL and "seg-0999" in kept and "seg-0000" not in kept
    assert len(event.model_dump_json()) < 100_000
