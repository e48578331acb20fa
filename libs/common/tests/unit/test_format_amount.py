"""An amount shown to a person in the client company's currency and locale, one way for every service: the
currency's own symbol (S/ for soles), its decimals (none for Chilean pesos) and the locale's marks."""

from __future__ import annotations

import html
import json
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recaudo_common.console import every_amounts_style
from recaudo_common.money import MARKS, MINOR_UNITS, AmountStyle, amount_style, format_amount

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("amount", "currency", "locale", "shown"), [
    ("1500000", "COP", "es-CO", "$1.500.000,00"),
    ("20000.50", "COP", "es-CO", "$20.000,50"),
    ("1500000", "CLP", "es-CL", "$1.500.000"),
    ("1500000", "PEN", "es-PE", "S/\xa01,500,000.00"),
    ("1500.5", "MXN", "es-MX", "$1,500.50"),
    ("1500.5", "USD", "en-US", "$1,500.50"),
])
def test_an_amount_is_written_in_its_currency_as_the_locale_writes_it(amount: str, currency: str, locale: str,
                                                                       shown: str) -> None:
    assert format_amount(Decimal(amount), currency, locale) == shown


def written_in(style: AmountStyle, value: str) -> str:
    """What recaudo_common/console/amounts.js writes for `value` in `style` (the same steps: half to even to the
    style's decimals, thousands by three), so that the style is shown to hold all of format_amount's rules."""
    amount = Decimal(value)
    units = abs(amount).scaleb(style.places).quantize(Decimal(1), ROUND_HALF_EVEN)
    digits = str(units).rjust(style.places + 1, "0")
    whole, decimals = digits[:len(digits) - style.places], digits[len(digits) - style.places:]
    figure = f"{int(whole):,}".replace(",", style.group) + (style.decimal + decimals if style.places else "")
    if amount.is_signed():  # as Babel: -0.001 COP is -$0,00
        return style.negative_prefix + figure + style.negative_suffix
    return style.prefix + figure + style.suffix


@given(st.sampled_from(sorted(MARKS)), st.sampled_from(sorted(MINOR_UNITS)),
       st.decimals(min_value=Decimal("-999999999999.99"), max_value=Decimal("999999999999.99"), places=3,
                   allow_nan=False, allow_infinity=False))
def test_a_pages_script_writes_an_amount_in_the_servers_style_as_the_server_does(locale: str, currency: str,
                                                                                 amount: Decimal) -> None:
    assert written_in(amount_style(currency, locale), str(amount)) == format_amount(amount, currency, locale)


def test_the_style_of_a_colombian_and_a_chilean_company() -> None:
    assert amount_style("COP", "es-CO") == AmountStyle(prefix="$", suffix="", negative_prefix="-$",
                                                       negative_suffix="", group=".", decimal=",", places=2)
    assert amount_style("CLP", "es-CL") == AmountStyle(prefix="$", suffix="", negative_prefix="$-",
                                                       negative_suffix="", group=".", decimal="", places=0)


def test_a_page_that_chooses_its_company_in_the_browser_carries_every_style_in_one_attribute() -> None:
    value = every_amounts_style()
    assert "'" not in value and "<" not in value  # safe inside the dashboard's single-quoted data-amounts
    styles = json.loads(html.unescape(value))
    assert len(styles) == len(MARKS) * len(MINOR_UNITS)
    assert styles["es-CO COP"] == {"prefix": "$", "suffix": "", "negative_prefix": "-$", "negative_suffix": "",
                                   "group": ".", "decimal": ",", "places": 2}
    assert styles["es-CL CLP"]["places"] == 0
