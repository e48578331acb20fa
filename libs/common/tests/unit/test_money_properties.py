"""Property tests of money parsing: every amount a Latin American file can write parses back to the same
Decimal under its locale; nothing else is guessed; no text makes the parser raise or return a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recaudo_common.money import MARKS, parse_amount

pytestmark = pytest.mark.unit
LOCALES = sorted(MARKS)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"), places=2,
                      allow_nan=False, allow_infinity=False)


def written(value: Decimal, locale: str, *, grouped: bool, symbol: str = "") -> str:
    group, decimal = MARKS[locale]
    units, cents = f"{value:.2f}".split(".")
    if grouped:
        units = f"{int(units):,}".replace(",", group)
    return f"{symbol}{units}{decimal}{cents}"


@given(amounts, st.sampled_from(LOCALES), st.booleans(), st.sampled_from(["", "$", "$ ", "COP ", "US$", "S/ "]))
def test_an_amount_written_in_its_locale_parses_back_to_the_cent(value: Decimal, locale: str, grouped: bool,
                                                                 symbol: str) -> None:
    assert parse_amount(written(value, locale, grouped=grouped, symbol=symbol), locale) == value


@given(amounts, st.sampled_from(LOCALES))
def test_a_negative_amount_keeps_its_sign(value: Decimal, locale: str) -> None:
    assert parse_amount("-" + written(value, locale, grouped=True), locale) == -value


@given(st.integers(min_value=1000, max_value=10**11), st.sampled_from(LOCALES))
def test_whole_amounts_with_thousands_groups(value: int, locale: str) -> None:
    group, _ = MARKS[locale]
    assert parse_amount(f"{value:,}".replace(",", group), locale) == Decimal(value)


@given(st.integers(min_value=0, max_value=999), st.integers(min_value=1, max_value=99),
       st.sampled_from([loc for loc in LOCALES if MARKS[loc][0] == "."]))
def test_a_group_mark_is_never_read_as_a_decimal_point(units: int, tail: int, locale: str) -> None:
    # es-CO "1.5" is neither one and a half nor fifteen hundred: refused, not guessed.
    assert parse_amount(f"{units}.{tail}", locale) is None


@given(st.text(max_size=60), st.sampled_from(LOCALES))
def test_any_text_is_a_decimal_or_none(text: str, locale: str) -> None:
    result = parse_amount(text, locale)
    assert result is None or isinstance(result, Decimal)
    if result is not None:
        assert result.is_finite()
