"""Property tests of date parsing: every day a Latin American file writes, numerically day first or with its
month's Spanish name, reads back as that day; a two-digit year by POSIX's pivot; nothing else is guessed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recaudo_common.money import parse_date

pytestmark = pytest.mark.unit
MONTHS = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"]
NAMES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre"]
# The days a two-digit year can name: 1969 to 2068 (POSIX strptime's %y).
two_digit_days = st.dates(min_value=dt.date(1969, 1, 1), max_value=dt.date(2068, 12, 31))
days = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31))


@given(days, st.sampled_from(["/", "-", "."]), st.booleans())
def test_a_numeric_date_day_first_or_year_first_reads_back(day: dt.date, sep: str, year_first: bool) -> None:
    text = (f"{day.year}{sep}{day.month:02d}{sep}{day.day:02d}" if year_first
            else f"{day.day}{sep}{day.month}{sep}{day.year}")
    assert parse_date(text) == day


@given(two_digit_days, st.sampled_from(["/", "-", "."]))
def test_a_two_digit_year_is_read_by_the_posix_pivot(day: dt.date, sep: str) -> None:
    assert parse_date(f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year % 100:02d}") == day


@given(two_digit_days, st.sampled_from(["-", "/", " "]), st.booleans(), st.sampled_from([str.lower, str.upper,
                                                                                           str.title]))
def test_a_months_spanish_abbreviation_reads_back(day: dt.date, sep: str, dot: bool,
                                                  case: Callable[[str], str]) -> None:
    month = case(MONTHS[day.month - 1]) + ("." if dot else "")
    assert parse_date(f"{day.day}{sep}{month}{sep}{day.year}") == day
    assert parse_date(f"{day.day:02d}{sep}{month}{sep}{day.year % 100:02d}") == day


@given(days, st.sampled_from(["de", "del"]))
def test_a_date_written_out_in_spanish_reads_back(day: dt.date, of: str) -> None:
    assert parse_date(f"{day.day} de {NAMES[day.month - 1]} {of} {day.year}") == day


@given(st.text(max_size=40))
def test_any_text_is_a_date_or_none(text: str) -> None:
    result = parse_date(text)
    assert result is None or isinstance(result, dt.date)


@pytest.mark.parametrize("text", [
    "05/03/2026 xyz", "14/02/26 xyz", "2026-02-14 abc", "14.02.26 1234", "05/03/2026 05/04/2026", "14/02/2026T",
    "14/02/2026 T10:00", "2026-02-14T10:00 mañana", "14-feb-26 xyz", "14-feb-26 10:00 hora", "05/03/2026 (vencida)",
])
def test_a_date_followed_by_anything_but_a_time_is_no_date(text: str) -> None:
    """What follows a day is a datetime export's time (and its zone) or the cell is no date: `05/03/2026 xyz` or two
    dates in one cell are not guessed to be their first ten characters."""
    assert parse_date(text) is None


@pytest.mark.parametrize(("text", "day"), [
    ("2026-02-14T10:00:00Z", dt.date(2026, 2, 14)), ("2026-02-14T10:00:00.123-05:00", dt.date(2026, 2, 14)),
    ("2026-02-14 00:00:00", dt.date(2026, 2, 14)), ("14/02/2026 10:00", dt.date(2026, 2, 14)),
    ("14/02/2026 10:00:00 p. m.", dt.date(2026, 2, 14)), ("14/02/2026 9:05 AM", dt.date(2026, 2, 14)),
    ("14/02/2026 10:00 -0500", dt.date(2026, 2, 14)), ("14/02/26 10:30:00", dt.date(2026, 2, 14)),
    ("14-feb-2026 10:30", dt.date(2026, 2, 14)), ("14-feb-26 10:30:00 UTC", dt.date(2026, 2, 14)),
])
def test_a_datetime_exports_date_part_decides(text: str, day: dt.date) -> None:
    assert parse_date(text) == day
