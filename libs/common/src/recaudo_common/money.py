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

_SYMBOLS = re.compile(r"^(?:[A-Z]{3}|US\$|S/\.?|S/|\$)\s*")
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
    itself, US$ and S/ theirs, `$` none (every peso's and the dollar's)."""
    found = _SYMBOLS.match(text)
    symbol = found.group(0).strip() if found else ""
    return symbol, _SYMBOL_CURRENCY.get(symbol, symbol if symbol in ISO_4217 else None)


def written_currency(raw: str) -> str | None:
    """The currency an amount names before its digits (`USD 1.500`, `US$ 1,500.00`, `S/ 1,500.00`), if it names
    one: a file's amount in another currency than the client company's is no amount of its (`$` names none)."""
    text = raw.strip().replace("\u00a0", " ").removeprefix("-").lstrip()
    symbol, currency = _prefix(text)
    if not text[len(symbol):].lstrip()[:1].isdigit():
        return None  # "NULL", "PENDIENTE": words, not a currency before a figure
    return currency


def parse_amount(raw: str, locale: str, currency: str | None = None) -> Decimal | None:
    """A decimal under the locale's marks, or None when the text is not one.

    `1.234.567,89` and `$ 1.234.567` are valid in es-CO; `1234567.89` and `1.5` are not (a '.' there
    groups thousands, so it must be followed by exactly three digits). With `currency`, an amount that names
    another (`USD 1.500` for a COP client company) is none either: its figure is not in that currency; and a
    prefix that names no currency ("ABC 2.000") makes it none.
    """
    group, decimal = MARKS[locale]
    text = raw.strip().replace("\u00a0", " ")
    negative = text.startswith("-")
    if negative:
        text = text[1:].lstrip()
    symbol, named = _prefix(text)
    if (symbol.isalpha() and named is None) or (currency is not None and named not in (None, currency)):
        return None
    text = text[len(symbol):].strip()
    g, d = re.escape(group), re.escape(decimal)
    pattern = rf"^(?:\d{{1,3}}(?:{g}\d{{3}})+|\d+)(?:{d}\d+)?$"
    if not re.match(pattern, text):
        return None
    try:
        value = Decimal(text.replace(group, "").replace(decimal, "."))
    except InvalidOperation:
        return None
    return -value if negative else value


def valid_balance(value: Decimal) -> bool:
    return Decimal(0) < value < MAX_AMOUNT


def to_the_cent(value: Decimal) -> Decimal:
    """An amount as every service keeps it (numeric(16, 2)): in cents as written, past the cent rounded half away
    from zero as PostgreSQL rounds it (a workbook's 1190.47619047619, shown 1.190,48, is 1190.48). For an amount
    of at most 26 digits before the point (a valid balance's 12), past which quantize has no room."""
    return to_minor_units(value, None)


_DATE_FORMATS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), (3, 2, 1)),
    (re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$"), (3, 2, 1)),
)


def parse_date(raw: str) -> dt.date | None:
    """dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy or ISO yyyy-mm-dd; None for anything else or an impossible date."""
    text = raw.strip()
    if "T" in text or " " in text:  # a datetime export: the date part decides
        text = re.split(r"[T ]", text, maxsplit=1)[0]
    for pattern, (yi, mi, di) in _DATE_FORMATS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(int(m.group(yi)), int(m.group(mi)), int(m.group(di)))
            except ValueError:
                return None
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
