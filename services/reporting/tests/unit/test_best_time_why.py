"""The account view's best times: its channels' best slots, and the words its `why` adds for them; nothing
changes before anything is learned."""

import datetime as dt
from decimal import Decimal

import pytest

from reporting.domain.best_times import BestTime, shown_best_times, why_with_best_times

pytestmark = pytest.mark.unit
AT = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
SMS = BestTime("sms", 1, 19, "martes 19h", Decimal("0.3100"), 420, AT)
EMAIL = BestTime("email", 3, 8, "jueves 8h", Decimal("0.0525"), 96, AT)
VOICE = BestTime("voice", 0, 10, "lunes 10h", Decimal("0.2"), 12, AT)


def test_why_names_each_channels_best_slot() -> None:
    assert SMS.reason == "mejor momento (sms): martes 19h, tasa 0.31, n=420"
    assert why_with_best_times("bucket 31-60; propensity 0.4", [SMS, EMAIL]) == (
        "bucket 31-60; propensity 0.4; mejor momento (sms): martes 19h, tasa 0.31, n=420; "
        "mejor momento (email): jueves 8h, tasa 0.05, n=96")


def test_why_is_unchanged_before_anything_is_learned() -> None:
    assert why_with_best_times("bucket 31-60", []) == "bucket 31-60"
    assert why_with_best_times(None, []) is None
    assert why_with_best_times(None, [SMS]) == SMS.reason  # not segmented yet, learned all the same


def test_only_the_accounts_own_channels_in_their_order() -> None:
    assert shown_best_times([SMS, EMAIL, VOICE], ["email", "sms", "whatsapp"]) == [EMAIL, SMS]
    assert shown_best_times([SMS, EMAIL], []) == []
    assert shown_best_times([SMS, VOICE, EMAIL], None) == [EMAIL, SMS, VOICE]  # channels unknown: every one
