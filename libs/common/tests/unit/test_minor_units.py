"""ISO 4217 minor units: every currency the product takes has its exponent, and an amount fits a currency only with
no more decimals than it has (CLP and PYG none, COP and USD two, CLF four)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from recaudo_common.instalments import ArrangementLimits, instalment_counts, schedule, split_evenly
from recaudo_common.money import (
    ISO_4217,
    MINOR_UNITS,
    after_discount,
    fits_minor_units,
    kept_places,
    minor_units,
    to_minor_units,
)

pytestmark = pytest.mark.unit


def test_every_currency_taken_has_its_iso_4217_exponent() -> None:
    assert set(MINOR_UNITS) == ISO_4217
    assert {c: minor_units(c) for c in ("CLP", "PYG", "JPY", "UYI", "COP", "USD", "MXN", "PEN", "ARS", "CLF")} == {
        "CLP": 0, "PYG": 0, "JPY": 0, "UYI": 0, "COP": 2, "USD": 2, "MXN": 2, "PEN": 2, "ARS": 2, "CLF": 4}


def test_an_amount_fits_a_currency_with_no_more_decimals_than_it_has() -> None:
    assert fits_minor_units(Decimal("1000"), "CLP") and fits_minor_units(Decimal("1000.00"), "CLP")
    assert not fits_minor_units(Decimal("1000.50"), "CLP") and not fits_minor_units(Decimal("0.5"), "PYG")
    assert fits_minor_units(Decimal("1000.50"), "COP") and not fits_minor_units(Decimal("1000.505"), "COP")
    assert fits_minor_units(Decimal("1.2345"), "CLF") and not fits_minor_units(Decimal("1.23456"), "CLF")


def test_an_amount_is_kept_in_its_currencys_minor_units_at_most_the_cent() -> None:
    # A number past a currency's minor units is rounded as PostgreSQL rounds (half away from zero); one that fits is
    # kept as written. CLF's four decimals are kept to the cent, the unit every table holds.
    assert to_minor_units(Decimal("1500.50"), "CLP") == Decimal("1501")
    assert to_minor_units(Decimal("1500.49"), "CLP") == Decimal("1500")
    assert to_minor_units(Decimal("1500.00"), "CLP") == Decimal("1500.00")
    assert to_minor_units(Decimal("1190.47619047619"), "COP") == Decimal("1190.48")
    assert to_minor_units(Decimal("1.2345"), "CLF") == Decimal("1.23")
    assert [kept_places(c) for c in ("CLP", "PYG", "COP", "USD", "CLF")] == [0, 0, 2, 2, 2]


def test_a_clp_plan_is_whole_pesos_and_a_cop_plan_unchanged() -> None:
    assert split_evenly(Decimal("100000"), 3, "CLP") == [Decimal("33333"), Decimal("33333"), Decimal("33334")]
    assert split_evenly(Decimal("100000"), 6, "PYG") == [Decimal("16666")] * 5 + [Decimal("16670")]
    assert split_evenly(Decimal("100000"), 3, "COP") == split_evenly(Decimal("100000"), 3) \
        == [Decimal("33333.33"), Decimal("33333.33"), Decimal("33333.34")]
    plan = schedule(Decimal("100000"), 3, dt.date(2026, 1, 24), "CLP")
    assert [a for _, a in plan] == [Decimal("33333"), Decimal("33333"), Decimal("33334")]
    # 5 pesos in 6 is no plan: an instalment of 0 pesos, where 5.00 COP in 6 is 0.83 each.
    assert instalment_counts(Decimal("5"), ArrangementLimits(), "CLP") == [2, 3, 4, 5]
    assert instalment_counts(Decimal("5"), ArrangementLimits()) == list(range(2, 13))


def test_a_clp_discount_is_whole_pesos() -> None:
    assert after_discount(Decimal("100001"), Decimal("15"), "CLP") == Decimal("85001")
    assert after_discount(Decimal("100001"), Decimal("15"), "COP") == after_discount(Decimal("100001"), Decimal("15")) \
        == Decimal("85000.85")
