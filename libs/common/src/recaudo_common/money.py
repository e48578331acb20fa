"""Numbers and dates as Latin American files write them, parsed strictly by locale: never guessed (shared by
every service that reads client or bank files); and an amount written for a person in its currency and locale."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency

# The ISO 4217 currencies the product takes (active currencies of the Americas and the majors), each with its minor
# unit: how many decimals an amount in it has (ISO 4217's exponent, the "Minor unit" column of its list one). Chilean
# and Paraguayan pesos, yen and the Uruguayan indexed unit have none; the Chilean Unidad de Fomento has four.
MINOR_UNITS: dict[str, int] = {
    "COP": 2, "PEN": 2, "MXN": 2, "USD": 2, "ARS": 2, "CLP": 0, "BRL": 2, "UYU": 2, "PYG": 0, "BOB": 2, "CRC": 2,
    "PAB": 2, "GTQ": 2, "DOP": 2, "HNL": 2, "NIO": 2, "VES": 2, "EUR": 2, "GBP": 2, "CAD": 2, "CLF": 4, "COU": 2,
    "UYI": 0, "SVC": 2, "JPY": 0, "CHF": 2, "CNY": 2,
}
ISO_4217 = frozenset(MINOR_UNITS)

# locale -> (grouping mark, decimal mark)
MARKS: dict[str, tuple[str, str]] = {
    "es-CO": (".", ","), "es-AR": (".", ","), "es-CL": (".", ","),
    "es-MX": (",", "."), "es-PE": (",", "."), "en-US": (",", "."),
}

# Before the figure: an ISO code, maybe with the `$` a peso's code is written with (`COP$`, `MXN$`), or a symbol.
_SYMBOLS = re.compile(r"^(?:[A-Z]{3}\$?|US\$|S/\.?|S/|\$)\s*")
# After the figure: an ISO code (`1.500.000 COP`), letters right after the figure's last digit.
_CODE_AFTER = re.compile(r"(?<=\d)\s*([A-Z]{3})$")
# The currency a symbol written before an amount names; `$` is every peso's and the dollar's, so it names none.
_SYMBOL_CURRENCY = {"US$": "USD", "S/": "PEN", "S/.": "PEN"}
MAX_AMOUNT = Decimal(10) ** 12  # every service keeps an amount as numeric(16, 2): less than this
CENT = Decimal("0.01")  # the ledger's unit: every amount is kept to the cent


def minor_units(currency: str) -> int:
    """How many decimals an amount in this ISO 4217 currency has (KeyError for a code the product does not take)."""
    return MINOR_UNITS[currency]


def fits_minor_units(amount: Decimal, currency: str) -> bool:
    """Whether `amount` has no more decimals than `currency` has (1000 and 1000.00 CLP do, 1000.50 CLP does not). A
    code the product does not take is refused before any amount in it is looked at; here it is taken to the cent."""
    places = MINOR_UNITS.get(currency, 2)
    return amount == amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def kept_places(currency: str | None) -> int:
    """The decimals an amount in `currency` is kept with: its minor units (none for CLP), at most the cent every
    table holds (numeric(16, 2); CLF's four are kept to the cent). No currency, or one the product does not take:
    the cent."""
    return min(MINOR_UNITS.get(currency, 2), 2) if currency else 2


def minor_unit(currency: str | None) -> Decimal:
    """The smallest amount kept in `currency`: 1 CLP, 0.01 COP."""
    return Decimal(1).scaleb(-kept_places(currency))


def to_minor_units(value: Decimal, currency: str | None) -> Decimal:
    """An amount as every service keeps it in `currency`: as written when it fits its minor units (at most the
    cent), past them rounded half away from zero as PostgreSQL rounds (a workbook's 1500.5 CLP is 1501). For an
    amount of at most 26 digits before the point, past which quantize has no room."""
    kept = value.quantize(minor_unit(currency), ROUND_HALF_UP)
    return value if kept == value else kept


def after_discount(amount: Decimal, discount_pct: Decimal, currency: str | None = None) -> Decimal:
    """`amount` less `discount_pct` per cent, in the currency's minor units (half-even): to the cent, in whole
    pesos for CLP; what a settlement at that discount asks, and the least a settlement may ask under a client
    company's largest discount (one rule for the offer shown and the arrangement accepted)."""
    return (amount * (100 - discount_pct) / 100).quantize(minor_unit(currency))


def format_amount(amount: Decimal, currency: str, locale: str, *, as_given: bool = False) -> str:
    """An amount as a person of the client company reads it, by CLDR (Babel): its currency's symbol and decimals
    and the locale's marks (es-CO COP $1.500.000,00, es-CL CLP $1.500.000, es-PE PEN S/ 1,500.00; Babel puts a
    no-break space where CLDR has one). The one way every service writes money for people. `as_given` writes
    every decimal the amount has, not cut to the currency's (a gateway's payment in fractions of one)."""
    return format_currency(amount, currency, locale=locale.replace("-", "_"), decimal_quantization=not as_given)


@dataclass(frozen=True)
class AmountStyle:
    """How format_amount writes amounts in one currency and locale, for a page's script to write them the same way
    (recaudo_common/console/amounts.js): what goes before and after the figure, positive and negative, the marks,
    the decimals (the currency's, by CLDR), thousands grouped by three. A browser's Intl.NumberFormat has its own
    CLDR data (Chromium's ICU writes es-CO's `$ 1.500.000,00` where Babel writes `$1.500.000,00`, and another
    browser or version another way), so a page that writes amounts beside the server's takes this instead."""

    prefix: str
    suffix: str
    negative_prefix: str
    negative_suffix: str
    group: str
    decimal: str
    places: int


_PROBE = re.compile(r"^(?P<before>\D*)1(?P<group>\D)234(?P=group)567(?:(?P<decimal>\D)(?P<places>0+))?(?P<after>\D*)$")


def amount_style(currency: str, locale: str) -> AmountStyle:
    """The style format_amount writes `currency` in for `locale`, read from what it writes for ±1,234,567
    (ValueError for a locale that groups otherwise than by three, which the product does not take)."""
    positive, negative = (_PROBE.match(format_amount(Decimal(n), currency, locale)) for n in (1234567, -1234567))
    if positive is None or negative is None:
        raise ValueError(f"amounts in {currency} for {locale} are not grouped by three")
    return AmountStyle(prefix=positive["before"], suffix=positive["after"], negative_prefix=negative["before"],
                       negative_suffix=negative["after"], group=positive["group"], decimal=positive["decimal"] or "",
                       places=len(positive["places"] or ""))


def _prefix(text: str) -> tuple[str, str | None]:
    """The symbol or code written before an amount (sign and spaces gone) and the currency it names: an ISO code
    itself (`COP$` too), US$ and S/ theirs, `$` none (every peso's and the dollar's)."""
    found = _SYMBOLS.match(text)
    symbol = found.group(0).strip() if found else ""
    code = symbol.removesuffix("$")
    return symbol, _SYMBOL_CURRENCY.get(symbol, code if code in ISO_4217 else None)


@dataclass(frozen=True)
class _Written:
    """An amount's text taken apart: its sign, the figure, and the marks of a currency around it (the letters of
    each, and the currency each names: None for `$` and for letters that name none)."""

    negative: bool
    figure: str
    marks: tuple[tuple[str, str | None], ...]


def _written(raw: str) -> _Written:
    text = raw.strip().replace("\u00a0", " ")
    negative = text.startswith("-")
    if negative:
        text = text[1:].lstrip()
    symbol, named = _prefix(text)
    marks = [(symbol, named)] if symbol else []
    text = text[len(symbol):].strip()
    if (after := _CODE_AFTER.search(text)) is not None:
        code = after.group(1)
        marks.append((code, code if code in ISO_4217 else None))
        text = text[:after.start()]
    return _Written(negative, text, tuple(marks))


def written_currency(raw: str, currency: str | None = None) -> str | None:
    """The currency an amount names around its digits (`USD 1.500`, `US$ 1,500.00`, `S/ 1,500.00`,
    `1.500 USD`, `$1.500 USD`), if it names one: a file's amount in another currency than the client company's is
    no amount of its (`$` names none). Naming two, the one that is not `currency`."""
    written = _written(raw)
    if not written.figure[:1].isdigit():
        return None  # "NULL", "PENDIENTE": words, not a currency around a figure
    named = [c for _, c in written.marks if c is not None]
    return next((c for c in named if c != currency), named[0] if named else None)


def parse_amount(raw: str, locale: str, currency: str | None = None) -> Decimal | None:
    """A decimal under the locale's marks, or None when the text is not one.

    `1.234.567,89` and `$ 1.234.567` are valid in es-CO; `1234567.89` and `1.5` are not (a '.' there
    groups thousands, so it must be followed by exactly three digits). A currency's code may be written before the
    figure (`COP 1.500`, `COP$ 1.500`) or after it (`1.500 COP`, `$1.500 COP`). With `currency`, an amount that
    names another (`USD 1.500` or `1.500 USD` for a COP client company) is none: its figure is not in that
    currency; nor is one that names two, or whose letters name no currency ("ABC 2.000", "12 MIL").
    """
    group, decimal = MARKS[locale]
    written = _written(raw)
    named = {c for _, c in written.marks if c is not None}
    if any(c is None and any(ch.isalpha() for ch in mark) for mark, c in written.marks) or len(named) > 1 \
            or (currency is not None and named - {currency}):
        return None
    text = written.figure
    g, d = re.escape(group), re.escape(decimal)
    pattern = rf"^(?:\d{{1,3}}(?:{g}\d{{3}})+|\d+)(?:{d}\d+)?$"
    if not re.match(pattern, text):
        return None
    try:
        value = Decimal(text.replace(group, "").replace(decimal, "."))
    except InvalidOperation:
        return None
    return -value if written.negative else value


def valid_balance(value: Decimal) -> bool:
    return Decimal(0) < value < MAX_AMOUNT


def to_the_cent(value: Decimal) -> Decimal:
    """An amount as every service keeps it (numeric(16, 2)): in cents as written, past the cent rounded half away
    from zero as PostgreSQL rounds it (a workbook's 1190.47619047619, shown 1.190,48, is 1190.48). For an amount
    of at most 26 digits before the point (a valid balance's 12), past which quantize has no room."""
    return to_minor_units(value, None)


# Numeric dates, day first (`05/03/2026` is 5 March in every locale the product takes) or year first; one separator
# throughout. A two-digit year is POSIX strptime's %y: 00-68 are 2000-2068, 69-99 1969-1999 (the pivot is fixed,
# not read from a clock: a file's dates mean the same whenever it is read).
# What may follow a day: a datetime export's time, with its seconds, fraction, a.m./p.m. and zone, which are ignored
# (the date part decides). Anything else after it (`05/03/2026 xyz`, a second date) makes the cell no date.
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[ap]\.?\s*m\.?)?(?:\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?)?"
_DATE_FORMATS = (
    (re.compile(rf"^(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}}){_TIME}$", re.IGNORECASE), (1, 3, 4)),
    (re.compile(rf"^(\d{{1,2}})([-/.])(\d{{1,2}})\2(\d{{4}}|\d{{2}}){_TIME}$", re.IGNORECASE), (4, 3, 1)),
)
# The months' Spanish names and abbreviations (`set`, `setiembre` as Peru and Uruguay write September), as Excel in a
# Spanish locale saves a d-mmm-yy date to CSV (`14-feb-26`) and as people write one (`14 de febrero de 2026`).
_MONTHS = {name: number for number, names in enumerate((
    ("ene", "enero"), ("feb", "febrero"), ("mar", "marzo"), ("abr", "abril"), ("may", "mayo"), ("jun", "junio"),
    ("jul", "julio"), ("ago", "agosto"), ("sep", "sept", "set", "septiembre", "setiembre"), ("oct", "octubre"),
    ("nov", "noviembre"), ("dic", "diciembre")), start=1) for name in names}
_NAMED_MONTH_DATE = re.compile(
    rf"^(\d{{1,2}})(?:\s*[-/]\s*|\s+de\s+|\s+)([^\W\d_]+)\.?(?:\s*[-/]\s*|\s+del?\s+|\s+)(\d{{4}}|\d{{2}}){_TIME}$",
    re.IGNORECASE)


def _year(written: str) -> int:
    """A year as written: four digits as they are, two by POSIX's pivot (00-68 are 20xx, 69-99 19xx)."""
    year = int(written)
    return year if len(written) == 4 else year + (2000 if year <= 68 else 1900)


def _day(year: str, month: int, day: str) -> dt.date | None:
    try:
        return dt.date(_year(year), month, int(day))
    except ValueError:
        return None  # 31/02/2026, 29-feb-27: no such day


def parse_date(raw: str) -> dt.date | None:
    """A day as client and bank files write it: dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy and each with a
    two-digit year (dd/mm/yy), yyyy-mm-dd (ISO), yyyy/mm/dd, yyyy.mm.dd; the month's Spanish name or abbreviation
    in any case, with or without its dot (`14-feb-26`, `14/Feb./2026`, `14 de febrero de 2026`); a time after it
    (a datetime export's, `_TIME`) is ignored. Numeric dates are day first whatever the locale; a two-digit year is
    read by POSIX's pivot (`_year`). None for anything else (no day, no year, a name of no month, words or a second
    date after it) or an impossible date."""
    text = raw.strip()
    if (named := _NAMED_MONTH_DATE.match(text)) is not None:
        month = _MONTHS.get(named.group(2).lower())
        return _day(named.group(3), month, named.group(1)) if month is not None else None
    for pattern, (yi, mi, di) in _DATE_FORMATS:
        m = pattern.match(text)
        if m:
            return _day(m.group(yi), int(m.group(mi)), m.group(di))
    return None


def parse_int(raw: str, locale: str | None = None) -> int | None:
    """A whole number, with a sign if negative; with a `locale`, grouped by its thousands mark too (`1.200` in
    es-CO, `1,200` in en-US), strictly as parse_amount groups, and never with decimals or a symbol."""
    text = raw.strip()
    group = MARKS[locale][0] if locale else ""
    pattern = rf"-?(?:\d{{1,3}}(?:{re.escape(group)}\d{{3}})+|\d+)" if group else r"-?\d+"
    return int(text.replace(group, "") if group else text) if re.fullmatch(pattern, text) else None


# Serial day numbers count from here. In the 1900 date system (Excel's default) serial 1 is 1900-01-01 and 60 the
# 29 February 1900 Lotus believed in; in the 1904 one (a workbook saved with <workbookPr date1904="1"/>, as older
# Mac Excel did) serial 0 is 1904-01-01, so the same day's serial is 1,462 smaller.
_EPOCH_1900, _EPOCH_1904 = dt.date(1899, 12, 30), dt.date(1904, 1, 1)
_LAST_SERIAL_1900, _LAST_SERIAL_1904 = 2_958_465, 2_957_003  # 9999-12-31 in each


def excel_serial_date(serial: Decimal, *, date1904: bool = False) -> dt.date | None:
    """The day an Excel serial day number stands for (the fraction, a time of day, is ignored) in the workbook's
    date system: 1900 unless the workbook says 1904. A number from no workbook (a JSON line's) counts in the 1900
    system, Excel's default. None for a number that is no day up to 9999-12-31."""
    if not serial.is_finite():
        return None
    days = int(serial)
    if date1904:
        return _EPOCH_1904 + dt.timedelta(days=days) if 0 <= days <= _LAST_SERIAL_1904 else None
    if not 1 <= days <= _LAST_SERIAL_1900:
        return None
    return _EPOCH_1900 + dt.timedelta(days=days if days >= 61 else days + 1)  # Excel's 29 Feb 1900 that was not
