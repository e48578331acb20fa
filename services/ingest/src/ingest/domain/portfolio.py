"""Portfolio rows: whether a row is an account or a rejection, and its warnings (MISSION §4); which column is which
field is domain/columns.py's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

# Re-exported: the columns' names were this module's before domain/columns.py, and callers import them from here.
from ingest.domain.columns import RECOGNISED as RECOGNISED
from ingest.domain.columns import ColumnMap as ColumnMap
from ingest.domain.columns import MappingError as MappingError
from ingest.domain.columns import account_ref_column as account_ref_column
from ingest.domain.columns import column_names as column_names
from ingest.domain.columns import map_columns as map_columns
from ingest.domain.columns import normalise_header as normalise_header
from ingest.domain.emails import email_entries, without_invisible
from ingest.domain.phones import phones_in
from recaudo_common.events import CHANNELS
from recaudo_common.files import Cell, UnreadableLine
from recaudo_common.money import (
    ISO_4217,
    MAX_AMOUNT,
    excel_serial_date,
    kept_places,
    parse_amount,
    parse_date,
    parse_int,
    to_minor_units,
    valid_balance,
    written_currency,
)
from recaudo_common.personal_data.blind_index import NotIndexable, normalised

# The longest a value may be: an account's events travel through Kafka, whose messages are capped at 1 MB, and
# no real reference, ID or name comes near these (an ID's type is often written out: "Clave Única de Registro de
# Población", "Permiso por Protección Temporal").
FIELD_LIMITS = {"account_ref": 64, "debtor_id": 32, "debtor_id_type": 64, "full_name": 200, "currency": 3,
                "email": 254, "phones": 200}  # a phone cell may hold several ("300 123 4567 / 310 987 6543 / ...")
MAX_PHONES = 10  # an account's phones, from all its phone columns (a debtor's rectification has the same limit)
DEFAULT_FIELD_LIMIT = 500
EXTRA_LIMIT = 1000


@dataclass(frozen=True)
class Issue:
    """A row's rejection or warning: `message` is the API's, in English; `params` are what it says besides the code
    (which of the code's `reason`s, and its figures), from which a reader's own language builds it again
    (issue_labels.spanish_detail). Never a cell's value: a message outlives its row's raw cells."""

    row: int
    field: str
    code: str
    message: str
    params: dict[str, str | int] = dataclasses.field(default_factory=dict)  # `field` is a column here


@dataclass
class Account:
    account_ref: str
    debtor_id: str
    full_name: str
    balance: Decimal
    currency: str
    days_past_due: int
    as_of: dt.date
    authorised_channels: list[str]
    debtor_id_type: str | None = None
    phones: list[str] = field(default_factory=list)
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    product: str | None = None
    original_amount: Decimal | None = None
    due_date: dt.date | None = None
    last_payment_date: dt.date | None = None
    last_payment_amount: Decimal | None = None
    extra: dict[str, str] = field(default_factory=dict)


def trailing_empty(cells: list[Cell], width: int) -> int:
    """How many empty fields past the header's `width` end a delimited row."""
    fields = len(cells)
    while fields > width and not cell_text(cells[fields - 1]).strip():
        fields -= 1
    return len(cells) - fields


def too_many_fields(row: int, cells: list[Cell], width: int, habit: int = 0) -> Issue | None:
    """A delimited row with more fields than its header's `width`: a separator inside an unquoted value, so every
    value after it has slid one column on, and no cell of it can be trusted to be what its header says. Up to
    `habit` empty fields at its end are no fields: an exporter that ends each line with a separator does it on
    every line (the file's first record tells; see trailing_empty). Past that, even an empty one is the row's last
    column, blank, pushed out by a slide ("1500000,50" unquoted in a comma-separated file)."""
    fields = len(cells)
    if fields <= width:
        return None
    fields -= min(habit, trailing_empty(cells, width))
    if fields <= width:
        return None
    return Issue(row, f"column_{width + 1}", "too_many_fields", f"the row has {fields} fields and the header {width}",
                 {"fields": fields, "width": width})


def unreadable_line(row: int, cells: list[Cell]) -> Issue | None:
    """A JSON line that is no JSON object (recaudo_common.files.UnreadableLine): none of its fields can be read,
    so it is rejected as such, not as a record whose every field is blank."""
    if len(cells) != 1 or type(cells[0]) is not UnreadableLine:
        return None
    return Issue(row, "line", "malformed_json_line", "the line is not a JSON object; none of its fields can be read")


# A written amount's digits past the cent are its writer's, not arithmetic's (a number cell's, which Excel shows
# rounded): rounding them would keep an amount the file does not state.
PAST_THE_CENT = "is written past the cent (more than two decimals that are not 0)"


def _past_minor_units(currency: str) -> tuple[str, str, dict[str, str | int]]:
    """Why a written amount is not in `currency`'s minor units (what it says, its reason, its figures): past the
    cent, or with decimals in a currency that has none (1.500,50 CLP: a Chilean peso has no cents)."""
    if kept_places(currency) == 2:
        return PAST_THE_CENT, "past_the_cent", {}
    return (f"is written with decimals that are not 0, and {currency} has none", "past_minor_units",
            {"currency": currency})

# Days past due a row may state, or its due date give (MISSION §4).
DAYS_PAST_DUE = (-365, 36500)


@dataclass(frozen=True)
class RowContext:
    """What the rules need besides the row: the upload's parameters and the client company's defaults."""

    locale: str
    as_of: dt.date
    country: str
    currency: str
    default_channels: tuple[str, ...]
    # The file's date system: a workbook saved in the 1904 one counts its serial day numbers from 1904-01-01, so a
    # General-formatted due date of 44620 is 2026-03-01 there and 2022-02-28 in the 1900 system (every other file).
    date1904: bool = False


# No character that delimits an address where it is written ("<ana@x.co>", "Ana <ana@x.co", '"ana@x.co"') is in one.
_EMAIL = re.compile(r'^[^@\s<>()\[\],;:"\\]+@[^@\s<>()\[\],;:"\\]+\.[A-Za-z]{2,}$')


def cell_text(cell: Cell) -> str:
    """A cell as the text a person would read: whole numbers without '.0', dates in ISO form."""
    if isinstance(cell, Decimal):
        return str(int(cell)) if cell == cell.to_integral_value() else format(cell.normalize(), "f")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return cell


def _cell(values: dict[str, list[Cell]], f: str) -> Cell:
    got = values.get(f)
    return got[0] if got else ""


def _text(values: dict[str, list[Cell]], f: str) -> str:
    return cell_text(_cell(values, f)).strip()


def _amount(cell: Cell, locale: str, currency: str) -> Decimal | None:
    if isinstance(cell, Decimal):
        return cell  # a number cell is already a number: the locale's marks do not apply
    if isinstance(cell, dt.date):
        return None
    return parse_amount(cell, locale, currency)


def _date(cell: Cell, ctx: RowContext) -> dt.date | None:
    if isinstance(cell, dt.date):
        return cell
    if isinstance(cell, Decimal):  # a date left as its serial number (a workbook's General format, a JSON number)
        return excel_serial_date(cell, date1904=ctx.date1904)
    return parse_date(cell)


def _int(cell: Cell, locale: str) -> int | None:
    if isinstance(cell, Decimal):
        return int(cell) if cell == cell.to_integral_value() else None
    if isinstance(cell, dt.date):
        return None
    return parse_int(cell, locale)  # grouped as the locale groups: a portfolio sold years late says 1.200 days


def check_row(values: dict[str, list[Cell]], extras: dict[str, str], row: int,
              ctx: RowContext) -> tuple[Account | None, list[Issue], list[Issue]]:
    """(account, rejections, warnings): an accepted row has no rejections; a rejected row no account."""
    rejections: list[Issue] = []
    warnings: list[Issue] = []

    def reject(f: str, code: str, message: str, **params: str | int) -> None:
        rejections.append(Issue(row, f, code, message, params))

    for f, cells in values.items():
        limit = FIELD_LIMITS.get(f, DEFAULT_FIELD_LIMIT)
        if f != "currency" and any(len(cell_text(c)) > limit for c in cells):
            reject(f, "field_too_long", f"{f} is longer than {limit} characters", limit=limit)
    for column, value in extras.items():
        if len(value) > EXTRA_LIMIT:
            reject(column, "field_too_long", f"column {column!r} is longer than {EXTRA_LIMIT} characters",
                   reason="column", limit=EXTRA_LIMIT)
    # Whatever its length, a currency is right or wrong: "PESOS COLOMBIANOS" is an invalid currency, which tells the
    # client company what to fix, where "too long" would not.
    currency = _text(values, "currency").upper() or ctx.currency
    # A message never quotes a cell: a row whose cells slid (a separator inside a name) puts a surname, a phone or
    # an e-mail where an amount or a date goes, and the message would keep it after its raw cells are erased.
    if currency not in ISO_4217 or currency != ctx.currency:
        reject("currency", "invalid_currency",
               f"the currency is not the client company's currency, the ISO 4217 code {ctx.currency}",
               currency=ctx.currency)
    if rejections:
        return None, rejections, warnings

    account_ref, debtor_id, full_name = _text(values, "account_ref"), _text(values, "debtor_id"), \
        _text(values, "full_name")
    if not account_ref:
        reject("account_ref", "missing_account_ref", "the account reference is blank")
    if not debtor_id:
        reject("debtor_id", "missing_debtor_id", "the debtor's ID is blank")
    elif not identifies(debtor_id):
        reject("debtor_id", "missing_debtor_id", "the debtor's ID has no letter or digit", reason="unindexable")
    if not full_name:
        reject("full_name", "missing_name", "the debtor's name is blank")
    raw_balance = _text(values, "balance")
    balance = _amount(_cell(values, "balance"), ctx.locale, currency) if raw_balance else None
    named = {f: written for f in ("balance", "original_amount", "last_payment_amount")
             if (written := written_currency(_text(values, f), currency)) not in (None, currency)}
    for f, written in named.items():
        reject(f, "invalid_currency", f"the amount is in {written}, not the client company's currency {currency}",
               reason="amount", written=written, currency=currency)
    if not raw_balance:
        reject("balance", "invalid_balance", "the balance is blank", reason="blank")
    elif balance is None and "balance" not in named:  # in another currency, it is rejected for that alone
        reject("balance", "invalid_balance", f"the balance is not a number in {ctx.locale}", reason="not_a_number",
               locale=ctx.locale)
    elif balance is not None and isinstance(_cell(values, "balance"), str) and valid_balance(balance) \
            and to_minor_units(balance, currency) != balance:
        why, reason, figures = _past_minor_units(currency)
        kept = "amounts are kept to the cent" if reason == "past_the_cent" else f"amounts in {currency} are whole"
        reject("balance", "invalid_balance", f"the balance {why}; {kept}", reason=reason, **figures)
    elif balance is not None:
        # Checked as every service keeps it, in the currency's minor units (to the cent; whole pesos for CLP): a
        # workbook's 1.4E-11 residue would be placed as a balance of 0.00, and 999999999999.995 as 10^12.
        balance = to_minor_units(balance, currency) if valid_balance(balance) else balance
        if not valid_balance(balance):
            reject("balance", "invalid_balance", "the balance must be greater than 0 and less than 10^12, "
                                                 "kept to the cent", reason="out_of_range")
    raw_due, raw_dpd = _text(values, "due_date"), _text(values, "days_past_due")
    due_date = _date(_cell(values, "due_date"), ctx) if raw_due else None
    dpd = _int(_cell(values, "days_past_due"), ctx.locale) if raw_dpd else None
    if not raw_due and not raw_dpd:
        reject("due_date", "missing_mora", "neither a due date nor days past due")
    if raw_due and due_date is None:
        reject("due_date", "invalid_due_date", "the due date is not a valid date", reason="not_a_date")
    if raw_dpd and (dpd is None or not DAYS_PAST_DUE[0] <= dpd <= DAYS_PAST_DUE[1]):
        reject("days_past_due", "invalid_days_past_due", "days past due is not an integer in -365..36500")
        dpd = None
    if due_date is not None and not DAYS_PAST_DUE[0] <= (ctx.as_of - due_date).days <= DAYS_PAST_DUE[1]:
        reject("due_date", "invalid_due_date",
               f"the due date gives {(ctx.as_of - due_date).days} days past due, not in -365..36500",
               reason="out_of_range", days=(ctx.as_of - due_date).days)
    if rejections:
        return None, rejections, warnings
    assert balance is not None
    if due_date is not None:
        computed = (ctx.as_of - due_date).days
        if dpd is not None and abs(computed - dpd) > 1:
            warnings.append(Issue(row, "days_past_due", "mora_mismatch",
                                  f"due date gives {computed} days past due, the file says {dpd}; due date wins",
                                  {"computed": computed, "stated": dpd}))
        dpd = computed
    assert dpd is not None
    phones: list[str] = []
    for phone_cell in values.get("phones", []):
        for _, e164 in phones_in(cell_text(phone_cell), ctx.country):
            if e164 is None:
                warnings.append(Issue(row, "phones", "invalid_phone", "a phone is not valid for the country; dropped"))
            elif e164 not in phones:
                phones.append(e164)
    if len(phones) > MAX_PHONES:
        warnings.append(Issue(row, "phones", "too_many_phones",
                              f"the row has {len(phones)} phones; the first {MAX_PHONES} are kept",
                              {"count": len(phones), "limit": MAX_PHONES}))
        phones = phones[:MAX_PHONES]
    email = _email(_text(values, "email"), row, warnings)
    channels = _channels(values, row, ctx, warnings)
    optional = _OptionalFields(values, row, ctx, currency, warnings)
    account = Account(
        account_ref=account_ref, debtor_id=debtor_id, full_name=full_name, balance=balance, currency=currency,
        days_past_due=dpd, as_of=ctx.as_of, authorised_channels=channels,
        debtor_id_type=_text(values, "debtor_id_type") or None, phones=phones, email=email,
        address=_text(values, "address") or None, city=_text(values, "city") or None,
        region=_text(values, "region") or None, product=_text(values, "product") or None,
        original_amount=optional.amount("original_amount"), due_date=due_date,
        last_payment_date=optional.date("last_payment_date"),
        last_payment_amount=optional.amount("last_payment_amount"), extra=extras,
    )
    return account, rejections, warnings


@dataclass(frozen=True)
class _OptionalFields:
    """An accepted row's optional amounts and dates: one that cannot be read is dropped with a warning naming its
    field, so the operator sees what the account lacks and why (the row is still accepted)."""

    values: dict[str, list[Cell]]
    row: int
    ctx: RowContext
    currency: str
    warnings: list[Issue]

    def _dropped(self, f: str, why: str, reason: str, figures: dict[str, str | int] | None = None) -> None:
        params: dict[str, str | int] = {"reason": reason, "locale": self.ctx.locale, **(figures or {})}
        self.warnings.append(Issue(self.row, f, f"invalid_{f}", f"the {f.replace('_', ' ')} {why}; dropped", params))

    def amount(self, f: str) -> Decimal | None:
        cell = _cell(self.values, f)
        if not cell_text(cell).strip():
            return None
        value = _amount(cell, self.ctx.locale, self.currency)
        if value is None:
            self._dropped(f, f"is not a number in {self.ctx.locale}", "not_a_number")
        elif not Decimal(0) <= value < MAX_AMOUNT:
            self._dropped(f, "must be at least 0 and less than 10^12", "out_of_range")
        elif isinstance(cell, str) and to_minor_units(value, self.currency) != value:
            self._dropped(f, *_past_minor_units(self.currency))
        else:
            # A workbook's number past the cent (the peso for CLP) is the one it shows, as a balance's.
            return to_minor_units(value, self.currency)
        return None

    def date(self, f: str) -> dt.date | None:
        cell = _cell(self.values, f)
        if not cell_text(cell).strip():
            return None
        if (value := _date(cell, self.ctx)) is None:
            self._dropped(f, "is not a valid date", "not_a_date")
        return value


def _email(text: str, row: int, warnings: list[Issue]) -> str | None:
    """The row's e-mail: the cell if it is one address, else the first valid one it holds (an account has one),
    the others said: an invalid one as invalid_email, valid ones past the first as too_many_emails. An invisible
    character (Unicode's format characters: zero-width space, soft hyphen, direction mark, byte-order mark), which
    text copied from a web page, a chat or a PDF carries, is no part of an address."""
    text = without_invisible(text)
    if not text or is_email(text):
        return text or None
    parts: list[str] = []
    for part in email_entries(text):
        if part and all(part.casefold() != p.casefold() for p in parts):  # the same address twice is one
            parts.append(part)
    valid = [p for p in parts if is_email(p)]
    if len(valid) < len(parts):
        warnings.append(Issue(row, "email", "invalid_email", "the e-mail address is not valid; dropped"))
    if len(valid) > 1:
        warnings.append(Issue(row, "email", "too_many_emails",
                              f"the cell has {len(valid)} e-mail addresses; the first is kept", {"count": len(valid)}))
    return valid[0] if valid else None


def _channels(values: dict[str, list[Cell]], row: int, ctx: RowContext, warnings: list[Issue]) -> list[str]:
    """The channels the row authorises; names the platform does not know are dropped with a warning, and a row that
    names none it knows has the client company's default channels, the warning saying so."""
    raw = _text(values, "authorised_channels")
    known = parse_channels(raw)
    unknown = [n for n in channel_names(raw) if n not in CHANNELS]
    if unknown:
        verb = "is not a channel" if len(unknown) == 1 else "are not channels"
        fallback = "; the client company's default channels apply" if not known else ""
        warnings.append(Issue(row, "authorised_channels", "invalid_authorised_channels",
                              f"{len(unknown)} of the authorised channels {verb} the platform knows "
                              f"({', '.join(CHANNELS)}); dropped{fallback}",
                              {"count": len(unknown), "defaults": int(not known)}))
    return known or list(ctx.default_channels)


def identifies(debtor_id: str) -> bool:
    """Whether an ID has something a person can be found by (the vault indexes its letters and digits only)."""
    try:
        normalised("id_number", debtor_id)
    except NotIndexable:
        return False
    return True


def is_email(text: str) -> bool:
    return _EMAIL.match(text) is not None


def channel_names(raw: str) -> list[str]:
    """The names a list of channels holds, normalised as headers are (`E-mail` is `email`)."""
    return [normalise_header(p) for p in re.split(r"[,;|/ ]+", raw) if p.strip()]


def parse_channels(raw: str) -> list[str]:
    names = channel_names(raw)
    return [c for c in CHANNELS if c in names]
