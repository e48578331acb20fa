"""ISO 4217 minor units: every currency the product takes has its exponent, and an amount fits a currency only with
no more decimals than it has (CLP and PYG none, COP and USD two, CLF four)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recaudo_common.money import ISO_4217, MINOR_UNITS, fits_minor_units, minor_units

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
