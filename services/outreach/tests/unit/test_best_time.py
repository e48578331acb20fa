"""Best time's rules: the learner recovers windows planted in a synthetic history (evenings for one segment,
mornings for another) in the debtor's local time, shrinkage keeps a thin slot or segment at its prior, and the
slot chosen is always one the contact law allows (Colombia: hours, Saturdays' short day, Sundays, holidays)."""

import datetime as dt
import random
import zoneinfo

import pytest

from outreach.domain.best_time import (
    LearnedWindow,
    Observation,
    allowed_slots,
    best_slot,
    choose_slot,
    learn,
    local_slot,
)
from outreach.domain.contact_law import RULES, ContactRequest, decide_contact, is_holiday, stricter_rules

pytestmark = pytest.mark.unit
BOGOTA = "America/Bogota"
CO = RULES["CO"]


def bogota(y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=zoneinfo.ZoneInfo(BOGOTA))


def synthetic_history(seed: int = 7) -> list[Observation]:
    """Twelve weeks of messages sent in UTC to Bogotá debtors, every weekday 07-18 local: the segment "tarde"
    answers far more at 18h, "manana" at 08h, both 5 % otherwise."""
    rng = random.Random(seed)
    found: list[Observation] = []
    start = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)  # Monday 07:00 in Bogotá
    for segment, good_hour in (("tarde", 18), ("manana", 8)):
        for day in range(12 * 7):
            for hour in range(12):
                sent_at = start + dt.timedelta(days=day, hours=hour)
                dow, local_hour = local_slot(sent_at, BOGOTA)  # the learner is fed local slots
                if dow > 4:
                    continue
                p = 0.4 if local_hour == good_hour else 0.05
                sent = 10
                found.append(Observation(segment, "sms", dow, local_hour, sent,
                                         sum(rng.random() < p for _ in range(sent))))
    return found


def top(windows: list[LearnedWindow], segment: str) -> LearnedWindow:
    return max((w for w in windows if w.segment == segment), key=lambda w: w.rate)


def test_the_learner_recovers_planted_evening_and_morning_windows_in_local_time() -> None:
    windows = learn(synthetic_history(), prior_strength=20)
    evening, morning = top(windows, "tarde"), top(windows, "manana")
    assert (evening.hour, morning.hour) == (18, 8)
    assert evening.dow < 5 and morning.dow < 5
    assert 0.3 < evening.rate < 0.5 and evening.n == 120  # 12 weeks x 10 messages
    # Every slot of a segment is learned; the ones never observed (Sunday 03h) sit at the segment's prior.
    assert len([w for w in windows if w.segment == "tarde"]) == 7 * 24
    sunday_3 = next(w for w in windows if (w.segment, w.dow, w.hour) == ("tarde", 6, 3))
    assert sunday_3.n == 0 and 0.05 < sunday_3.rate < 0.15


def test_local_slot_is_the_debtors_hour_not_utc() -> None:
    assert local_slot(dt.datetime(2026, 3, 4, 23, 0, tzinfo=dt.UTC), BOGOTA) == (2, 18)  # Wednesday 18h
    assert local_slot(dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC), "America/Tijuana") == (2, 18)
    with pytest.raises(ValueError):
        local_slot(dt.datetime(2026, 3, 4, 23, 0), BOGOTA)


def test_few_observations_keep_the_prior() -> None:
    """Two replies out of two at 03h do not make 03h the best slot of a segment with a thousand messages at 5 %,
    and a segment with two messages keeps (nearly) the channel's prior."""
    history = [Observation("grande", "sms", d, h, 20, 1) for d in range(5) for h in range(8, 18)]
    history += [Observation("grande", "sms", 0, 3, 2, 2), Observation("nueva", "sms", 1, 10, 2, 2)]
    windows = learn(history, prior_strength=20)
    thin = next(w for w in windows if (w.segment, w.dow, w.hour) == ("grande", 0, 3))
    assert thin.n == 2 and thin.rate < 0.15  # 2/2 shrunk toward ~0.05: (2 + 20 * 0.05) / 22
    channel_prior = (sum(o.good for o in history) + 1) / (sum(o.sent for o in history) + 2)
    new = [w for w in windows if w.segment == "nueva"]
    # The formula, exactly: the segment's prior shrunk toward the channel's, the slot toward the segment's.
    segment_prior = (2 + 20 * channel_prior) / (2 + 20)
    assert segment_prior < 0.15  # 2 of 2 answered, yet far from 1
    unobserved = next(w for w in new if (w.dow, w.hour) == (1, 11))
    assert unobserved.n == 0 and unobserved.rate == pytest.approx(segment_prior)
    observed = next(w for w in new if (w.dow, w.hour) == (1, 10))
    assert observed.rate == pytest.approx((2 + 20 * segment_prior) / (2 + 20)) and observed.rate < 0.25


def test_learn_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        learn([Observation("s", "sms", 0, 8, 1, 2)], prior_strength=20)
    with pytest.raises(ValueError):
        learn([Observation("s", "sms", 7, 8, 1, 0)], prior_strength=20)
    with pytest.raises(ValueError):
        learn([], prior_strength=0)


def planted(best: dict[tuple[int, int], float], rest: float = 0.05) -> dict[tuple[int, int], LearnedWindow]:
    return {(d, h): LearnedWindow("s", "sms", d, h, best.get((d, h), rest), 100) for d in range(7) for h in range(24)}


def test_the_best_slot_is_the_highest_rate_the_law_allows() -> None:
    windows = planted({(2, 18): 0.31, (3, 18): 0.31, (0, 9): 0.2})
    choice = best_slot(rules=CO, country="CO", timezone=BOGOTA, channel="sms", start=bogota(2026, 3, 4, 10),
                       horizon=dt.timedelta(days=3), windows=windows)
    assert choice is not None and choice.window is not None
    assert choice.at == bogota(2026, 3, 4, 18)  # Wednesday 18h; Thursday's equal rate comes later
    assert choice.window.reason == "best_time: miércoles 18h (tasa 0.31, n=100)"


def test_a_forbidden_slot_is_never_chosen_however_good() -> None:
    """Colombia: nothing before 07h or from 19h, Saturdays 08-15, no Sundays or holidays (Monday March 23, 2026,
    San José). The best learned slots are all forbidden; the choice falls on the best allowed one."""
    assert is_holiday("CO", dt.date(2026, 3, 23))
    windows = planted({(6, 10): 0.9, (2, 21): 0.8, (5, 16): 0.7, (0, 10): 0.6, (1, 6): 0.5, (4, 12): 0.2})
    choice = best_slot(rules=CO, country="CO", timezone=BOGOTA, channel="sms", start=bogota(2026, 3, 19, 20),
                       horizon=dt.timedelta(days=7), windows=windows)
    assert choice is not None and choice.at == bogota(2026, 3, 20, 12)  # Friday noon; Monday 23 is a holiday
    # Over every start in a month and every planted best slot, the chosen instant is allowed by the law.
    rng = random.Random(3)
    start = bogota(2026, 3, 1, 0)
    for i in range(0, 31 * 24, 5):
        best = {(rng.randrange(7), rng.randrange(24)): rng.random() for _ in range(3)}
        at = start + dt.timedelta(hours=i, minutes=rng.randrange(60))
        horizon = dt.timedelta(days=rng.choice((1, 3, 7)))
        choice = best_slot(rules=CO, country="CO", timezone=BOGOTA, channel="sms", start=at, horizon=horizon,
                           windows=planted(best))
        # The slots agree with the law's engine: the first is its next allowed instant, each one allowed.
        slots = allowed_slots(rules=CO, country="CO", timezone=BOGOTA, start=at, horizon=horizon)
        law = decide_contact(ContactRequest(country="CO", timezone=BOGOTA, channel="sms", at=at,
                                            authorised_channels=("sms",), rules=CO))
        first = at if law.allowed else law.next_allowed_at
        assert (slots[0] if slots else None) == (first if first is not None and first < at + horizon else None)
        if choice is None:
            continue
        assert at <= choice.at < at + horizon
        decision = decide_contact(ContactRequest(country="CO", timezone=BOGOTA, channel="sms", at=choice.at,
                                                 authorised_channels=("sms",), rules=CO))
        assert decision.allowed, (at, choice)
        local = choice.at.astimezone(zoneinfo.ZoneInfo(BOGOTA))
        assert local.weekday() != 6 and not is_holiday("CO", local.date()) and 7 <= local.hour < 19


def test_a_client_companys_stricter_hours_bound_the_choice() -> None:
    rules = stricter_rules("CO", {"windows": {"mon": ["09:30", "17:00"], "tue": ["09:30", "17:00"]}})
    windows = planted({(0, 18): 0.9, (0, 9): 0.5})
    choice = best_slot(rules=rules, country="CO", timezone=BOGOTA, channel="sms", start=bogota(2026, 3, 9, 6),
                       horizon=dt.timedelta(days=1), windows=windows)
    assert choice is not None and choice.at == bogota(2026, 3, 9, 9, 30)  # the window opens within the 09h slot


def test_without_history_the_first_allowed_slot() -> None:
    slots = allowed_slots(rules=CO, country="CO", timezone=BOGOTA, start=bogota(2026, 3, 7, 16),
                          horizon=dt.timedelta(days=3))
    assert slots[0] == bogota(2026, 3, 9, 7)  # Saturday 16h is closed, Sunday too: Monday 07h
    choice = choose_slot(slots, {}, BOGOTA)
    assert choice is not None and (choice.at, choice.window) == (bogota(2026, 3, 9, 7), None)
    assert choose_slot([], planted({}), BOGOTA) is None
    # A start inside an open hour keeps its minute: it is the first allowed slot itself.
    assert allowed_slots(rules=CO, country="CO", timezone=BOGOTA, start=bogota(2026, 3, 4, 10, 17),
                         horizon=dt.timedelta(hours=2)) == [bogota(2026, 3, 4, 10, 17), bogota(2026, 3, 4, 11),
                                                          bogota(2026, 3, 4, 12)]
