"""An amount shown to a person in the client company's currency and locale, one way for every service: the
currency's own symbol (S/ for soles), its decimals (none for Chilean pesos) and the locale's marks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recaudo_common.money import format_amount

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
