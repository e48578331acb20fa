"""Bank reconciliation files: which column is the reference, the amount, the date and the bank's own
transaction id, and whether a row is a payment to apply or a rejection."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from recaudo_common.clock import local_instant, local_today
from recaudo_common.money import CENT, fits_minor_units, parse_amount, parse_date, valid_balance

COLUMNS: dict[str, tuple[str, ...]] = {
    "reference": ("referencia", "referencia pago", "obligacion", "cuenta", "numero obligacion", "reference",
                  "account ref", "convenio referencia"),
    "amount": ("valor", "monto", "valor pagado", "importe", "amount"),
    "date": ("fecha", "fecha pago", "fecha transaccion", "date", "paid at"),
    "transaction_id": ("id transaccion", "transaccion", "comprobante", "numero comprobante", "transaction id"),
}


def _norm(header: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", header) if not unicodedata.combining(c))
    return re.sub(r"[\s_\-.]+", "", plain.lower().strip().lstrip("\ufeff"))


_LOOKUP = {_norm(h): field for field, headers in COLUMNS.items() for h in headers}


def bank_columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Field -> position, and the required fields no column provides."""
    found: dict[str, int] = {}
    for i, h in enumerate(header):
        field = _LOOKUP.get(_norm(h))
        if field and field not in found:
            found[field] = i
    return found, [f for f in ("reference", "amount", "date") if f not in found]


# A bank file says the day a payment was made, not the hour: it is booked at noon of that day in the client
# company's time zone, so that it falls on that day whatever the zone.
BOOKED_AT = dt.time(12)


@dataclass(frozen=True)
class BankRow:
    """One payment of a bank file (a CSV statement's row, an Asobancaria detail), to apply at most once by
    `transaction_id` (the bank's own id; none: the row's place in this very file)."""

    row: int
    reference: str
    amount: Decimal
    paid_at: dt.datetime  # timezone-aware, in the client company's zone
    transaction_id: str | None
    method: str = "bank_transfer"
    # All digits, read from a field the file fills with zeros on the left and the reader dropped them (an
    # Asobancaria detail): the account's own leading zeros, if its reference has any, went with them.
    zero_filled: bool = False


@dataclass(frozen=True)
class RejectedRow:
    """A row of a bank file that is no payment to apply, and why (a stable code)."""

    row: int
    reason: str


def check_bank_row(cells: list[str], columns: dict[str, int], row: int, locale: str, timezone: str,
                   currency: str) -> tuple[BankRow | None, str | None]:
    """(payment, None) or (None, rejection code). An amount is `invalid_amount` unless it is a number in the
    locale, above 0, under 10^12, to the cent at most, with no more decimals than the currency has (1.000,50 CLP is
    none), and in the client company's currency if it names one: the ledger keeps cents, and a fraction of one would
    be rounded away (or, below a cent, fail the whole file)."""

    def cell(field: str) -> str:
        i = columns.get(field)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    reference = cell("reference")
    if not reference:
        return None, "missing_reference"
    amount = parse_amount(cell("amount"), locale, currency) if cell("amount") else None
    if amount is None or not valid_balance(amount) or amount != amount.quantize(CENT) \
            or not fits_minor_units(amount, currency):
        return None, "invalid_amount"
    paid_on = parse_date(cell("date")) if cell("date") else None
    if paid_on is None:
        return None, "invalid_date"
    return BankRow(row, reference, amount, local_instant(paid_on, timezone, BOOKED_AT),
                   cell("transaction_id") or None), None


def dated_after_today(paid_at: dt.datetime, timezone: str, now: dt.datetime) -> bool:
    """Whether a line's payment is dated after the day it is read (`now`) in the client company's time zone. A file
    says the day, not the hour (BOOKED_AT stands for it), so a line of today is never in the future; one of a later
    day is no payment made yet."""
    return local_today(timezone, paid_at) > local_today(timezone, now)


# A deposit an operator recorded by hand (the debtor sent the slip) reaches the bank's statement on the day it was
# made or a few days later (a deposit after the branch's cut-off, a weekend, a holiday), never before.
POSTED_WITHIN_DAYS = 3
POSSIBLE_DUPLICATE = "possible_duplicate"  # the suspense reason of a line that may be a deposit recorded by hand
ALREADY_BANKED = "already_banked"  # the suspense reason of a payment by hand a statement's line may have brought
# The suspense reason of a line without the bank's id that another file already brought (the same statement saved
# again, or a later one repeating its days): the file's place is no key across files, so it waits for an operator.
IN_EARLIER_FILE = "in_earlier_file"


def recorded_by_hand_between(posted: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """When a deposit the bank posted on `posted` may have been made (and recorded by hand): from the start of
    POSTED_WITHIN_DAYS days before to the end of that day, in the client company's time zone."""
    return (local_instant(posted - dt.timedelta(days=POSTED_WITHIN_DAYS), timezone),
            local_instant(posted + dt.timedelta(days=1), timezone))


def posted_between(made: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """When the bank may post a deposit made on `made`: from the start of that day to the end of POSTED_WITHIN_DAYS
    days later, in the client company's time zone."""
    return (local_instant(made, timezone),
            local_instant(made + dt.timedelta(days=POSTED_WITHIN_DAYS + 1), timezone))
