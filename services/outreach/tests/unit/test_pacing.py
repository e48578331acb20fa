"""The pacing rule of a sender (domain/pacing.py): tokens earned at the rate, never past the burst, whatever the gap;
the clock going backwards mints nothing; a simulated campaign of ticks sends no more than the rate allows; and the
providers' documented defaults are the ones a sender without settings gets."""

import datetime as dt
import math
import random
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.domain import pacing
from outreach.domain.pacing import Bucket, Rate
from outreach.providers import Providers
from outreach.sending.pacing import configured_rate, sender_key
from outreach.settings import OutreachSettings
from recaudo_common.db import Database

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_a_new_sender_may_send_its_burst_at_once_and_then_earns_its_rate() -> None:
    rate = Rate.of(80, 1.0)
    bucket = pacing.full(rate, T0)
    assert pacing.allowance(bucket) == 80
    bucket = pacing.spend(bucket, 80)
    assert pacing.allowance(pacing.refill(bucket, rate, T0)) == 0
    assert pacing.allowance(pacing.refill(bucket, rate, at(0.5))) == 40
    assert pacing.allowance(pacing.refill(bucket, rate, at(0.0125))) == 1  # one token every 1/80 s


def test_tokens_never_pass_the_burst() -> None:
    rate = Rate.of(10, 2.0)
    assert rate.burst == 20
    bucket = pacing.refill(Bucket(0, T0), rate, at(1.5))
    assert bucket.tokens == 15
    assert pacing.refill(bucket, rate, at(100)).tokens == 20
    # A rate lowered since (an operator's new setting): what was saved is capped at the new burst.
    assert pacing.refill(Bucket(20, T0), Rate.of(5, 1.0), T0).tokens == 5


def test_a_huge_gap_earns_one_burst_at_most() -> None:
    rate = Rate.of(1000, 1.0)
    years_later = T0 + dt.timedelta(days=365 * 5000)
    bucket = pacing.refill(Bucket(-3, T0), rate, years_later)
    assert bucket.tokens == 1000 and bucket.updated_at == years_later
    assert math.isfinite(bucket.tokens)


def test_the_clock_going_backwards_earns_nothing_and_keeps_the_later_instant() -> None:
    rate = Rate.of(10, 1.0)
    bucket = Bucket(2.5, at(60))  # another replica, its clock a minute ahead, touched it last
    behind = pacing.refill(bucket, rate, T0)
    assert behind == Bucket(2.5, at(60))
    # Once this clock catches up, only the time after the later instant counts.
    assert pacing.refill(behind, rate, at(60.5)).tokens == 7.5


def test_a_rate_under_one_a_second_still_sends_one_message_every_1_over_rate_seconds() -> None:
    rate = Rate.of(0.25, 1.0)
    assert rate.burst == 1
    bucket = pacing.spend(pacing.full(rate, T0), 1)
    assert pacing.allowance(pacing.refill(bucket, rate, at(3.9))) == 0
    assert pacing.allowance(pacing.refill(bucket, rate, at(4))) == 1


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_a_rate_must_be_a_positive_number(bad: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Rate.of(bad, 1.0)


def test_spending_a_negative_number_of_messages_is_refused() -> None:
    with pytest.raises(ValueError):
        pacing.spend(Bucket(1, T0), -1)


def test_answers_sent_without_waiting_put_the_bucket_in_debt_of_one_burst_at_most() -> None:
    rate = Rate.of(2, 1.0)
    bucket = pacing.debit(Bucket(1, T0), rate, 1)
    assert bucket.tokens == 0
    assert pacing.debit(bucket, rate, 50).tokens == -2  # a flood of answers: the campaign waits one burst, no more
    assert pacing.allowance(pacing.refill(Bucket(-2, T0), rate, at(1.5))) == 1
    with pytest.raises(ValueError):
        pacing.debit(bucket, rate, -1)


def test_the_fair_share_hands_out_everything_and_nothing_more() -> None:
    assert [pacing.fair_share(10, n) for n in (1, 2, 3, 4)] == [10, 5, 4, 3]
    assert pacing.fair_share(0, 3) == 0 and pacing.fair_share(5, 0) == 0 and pacing.fair_share(-1, 2) == 0
    remaining, shares = 10, []
    for takers in (3, 2, 1):
        shares.append(pacing.fair_share(remaining, takers))
        remaining -= shares[-1]
    assert shares == [4, 3, 3] and remaining == 0


@given(st.floats(0.1, 1000), st.floats(0.1, 10), st.lists(st.floats(0, 3), min_size=1, max_size=60),
       st.randoms(use_true_random=False))
def test_over_any_run_of_ticks_a_sender_sends_at_most_its_burst_plus_its_rate(
        per_second: float, burst_s: float, gaps: list[float], rng: random.Random) -> None:
    """Ticks at any spacing, each sending what the bucket allows (or less, as a claim may): the messages sent up
    to any tick never pass burst + rate x elapsed, the token bucket's promise."""
    rate = Rate.of(per_second, burst_s)
    bucket, sent, elapsed = pacing.full(rate, T0), 0, 0.0
    for gap in gaps:
        elapsed += gap
        bucket = pacing.refill(bucket, rate, at(elapsed))
        n = rng.randint(0, pacing.allowance(bucket))
        bucket = pacing.spend(bucket, n)
        sent += n
        assert bucket.tokens >= -1e-9
        assert sent <= rate.burst + per_second * elapsed + 1e-6


def test_the_documented_defaults_and_the_settings_that_override_them() -> None:
    unset = OutreachSettings(provider_rate_per_s={})
    assert configured_rate(unset, "whatsapp_cloud", "whatsapp") == 80  # Meta's default throughput
    assert configured_rate(unset, "twilio", "sms") == 1  # a US long code, one segment a second
    assert configured_rate(unset, "twilio", "whatsapp") == 10  # a Twilio WhatsApp sender's default
    assert configured_rate(unset, "twilio", "voice") == 1  # an account's calls a second
    assert configured_rate(unset, "smtp", "email") == 20
    defaults = OutreachSettings()  # the settings name only the sandbox and the relay: Twilio's documented ones
    assert [configured_rate(defaults, "twilio", c) for c in ("sms", "whatsapp", "voice")] == [1, 10, 1]
    tuned = OutreachSettings(provider_rate_per_s={"twilio": 30, "twilio/voice": 5})
    assert configured_rate(tuned, "twilio", "sms") == 30
    assert configured_rate(tuned, "twilio", "voice") == 5


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_a_rate_that_is_no_rate_stops_the_service_at_start(bad: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Providers(cast(Database, None), OutreachSettings(provider_rate_per_s={"twilio/sms": bad}))


def test_a_senders_key_never_holds_its_number() -> None:
    key = sender_key("twilio", "sms", "+573001234567")
    assert key.startswith("twilio/sms:") and "573001234567" not in key
    assert key == sender_key("twilio", "sms", "+573001234567") != sender_key("twilio", "voice", "+573001234567")
