"""Replies in the propensity model's features (#22): outreach's contact.replied kept as `replied` facts count in
replies_90d (beside agents' answered calls and debtor-page promises) within their 90 days and never before they
happen, and raise willingness to pay and contactability."""

import datetime as dt
from decimal import Decimal

import pytest

from segmentation.domain.history import AccountHistory, Fact, Standing, features_at, indicators_of

pytestmark = pytest.mark.unit
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def account(*facts: Fact) -> AccountHistory:
    return AccountHistory("A-1", "tarjeta", (Standing(T0, 40, Decimal("1000000"), True),), tuple(facts))


def test_replies_count_within_their_90_days_and_never_before_they_happen() -> None:
    history = account(Fact(day(1), "replied", "sms"), Fact(day(50), "replied", "whatsapp"),
                      Fact(day(60), "logged", "voice", detail="right_party"), Fact(day(120), "replied", "email"))
    at_100 = features_at(history, day(100))
    assert at_100 is not None and at_100.replies_90d == 2  # day 50's reply and day 60's answered call; day 1 is old
    at_60 = features_at(history, day(60))
    assert at_60 is not None and at_60.replies_90d == 3
    at_0 = features_at(history, day(0))
    assert at_0 is not None and at_0.replies_90d == 0


def test_a_debtor_who_replies_reads_as_more_willing_and_more_contactable() -> None:
    silent = features_at(account(Fact(day(1), "delivered", "sms")), day(10))
    replying = features_at(account(Fact(day(1), "delivered", "sms"), Fact(day(2), "replied", "sms")), day(10))
    assert silent is not None and replying is not None
    before, after = indicators_of(silent), indicators_of(replying)
    assert after.willingness.value > before.willingness.value
    assert after.contactability.value > before.contactability.value
