"""Asobancaria 2001 recaudo files, the fixed-width collection report Colombian banks send: read line by line, each
detail a bank-file payment line, the whole file refused at its first defect or disagreeing control total.

The layout is Asobancaria's "Especificaciones técnicas para reportar la información del recaudo en el sector
financiero colombiano", primera actualización (Bogotá, septiembre de 2001), chapter 3 "Archivo de recaudos": records
01 file header, 05 lot header, 06 detail, 08 lot control and 09 file control, 162 characters each; numbers
right-aligned and zero-filled, amounts in pesos with two implied decimals. Its text is reproduced at
https://www.buenastareas.com/ensayos/Asobancaria/1136116.html; the positions and widths below are those three public
readers of the standard agree on, field for field:
  https://github.com/micros/asobancaria  (src/Asobancaria/FileHeader.php, BatchHeader.php, Detail.php,
      BatchControl.php, FileControl.php; with files a bank sent, ejemplos/*.TXT)
  https://github.com/jesusvillalbam/asobancaria-2001-file-parser  (src/main/resources/asobancaria.def.xsd)
  https://github.com/cangulor8/Asobancaria  (Recaudo/RecaudoEncabezadoArchivo.cs ... RecaudoControlArchivo.cs)
Where they differ we say which we follow:
- The user's principal reference (06, positions 3-50) is an integer to micros and jesusvillalbam, text to cangulor8.
  We read text (a client company's references need not be numbers) and, as the integer readings do, drop the
  left zero-fill of an all-digit reference: the bank's 0000...0001055909 is reference 1055909. The fill cannot be
  told from an account reference's own leading zeros, so the line says its zeros were dropped (`zero_filled`), and
  applying it (payments/bank_files/) finds the client company's all-digit account equal to it once both lose
  their leading zeros (1055909, or 001055909); when two accounts are, it guesses neither: the payment waits in
  suspense for an operator.
- The control records' counts: the bank files in micros/asobancaria count detail records only (17 details, 08 and
  09 both say 000000017), not every record; we check that.
- Line length: those bank files end with a file control of 29 characters, the blank reserved area cut off. A line
  shorter than 162 is read as if blank-filled (a field it cuts short then fails its own check); a longer one is
  refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from payments.domain.bank_files import BOOKED_AT, BankRow, RejectedRow
from recaudo_common.clock import local_instant

FORMAT = "asobancaria2001"
RECORD_LENGTH = 162
MALFORMED = "bank_file_malformed"
TOTALS_MISMATCH = "bank_file_totals_mismatch"
UTF8_BOM = b"\xef\xbb\xbf"  # a file saved again by a Windows editor may start with one: no part of the header
METHOD = "bank_collection"  # paid at the bank for the client company (its recaudo agreement), not a transfer


@dataclass(frozen=True)
class Field:
    """A field of a record: our name (used in refusals), the layout's name, its first position (counting from 1,
    as the layout does) and width; numeric fields hold digits only."""

    name: str
    label: str
    start: int
    width: int
    numeric: bool = True

    def of(self, line: str) -> str:
        return line[self.start - 1:self.start - 1 + self.width]

    @property
    def positions(self) -> str:
        return f"{self.start}-{self.start + self.width - 1}"


RECORD_TYPE = Field("record_type", "tipo de registro", 1, 2)
FILE_HEADER = (
    RECORD_TYPE,
    Field("collector_nit", "NIT empresa facturadora", 3, 10),
    Field("collection_date", "fecha de recaudo (AAAAMMDD)", 13, 8),
    Field("bank_code", "código de la entidad financiera", 21, 3),
    Field("account_number", "número de cuenta", 24, 17, numeric=False),
    Field("file_date", "fecha de archivo (AAAAMMDD)", 41, 8),
    Field("file_time", "hora de grabación (HHMM)", 49, 4),
    Field("file_modifier", "modificador de archivo", 53, 1, numeric=False),
    Field("account_type", "tipo de cuenta", 54, 2),
)  # reserved 56-162
LOT_HEADER = (
    RECORD_TYPE,
    Field("service_code", "código del servicio recaudado", 3, 13),
    Field("lot_number", "número de lote", 16, 4),
)  # reserved 20-162
DETAIL = (
    RECORD_TYPE,
    Field("reference", "referencia principal del usuario", 3, 48, numeric=False),
    Field("amount", "valor recaudado", 51, 14),
    Field("payment_origin", "procedencia de pago", 65, 2),
    Field("payment_method", "medios de pago", 67, 2),
    Field("operation_number", "no. de operación", 69, 6),
    Field("authorisation_number", "no. de autorización", 75, 6),
    Field("debited_bank_code", "código de la entidad financiera debitada", 81, 3),
    Field("branch_code", "código de sucursal", 84, 4),
    Field("sequence", "secuencia", 88, 7),
    Field("return_reason", "causal de devolución", 95, 3, numeric=False),
)  # reserved 98-162
LOT_CONTROL = (
    RECORD_TYPE,
    Field("detail_count", "total registros en el lote", 3, 9),
    Field("lot_total", "valor total recaudado en el lote", 12, 18),
    Field("lot_number", "número de lote", 30, 4),
)  # reserved 34-162
FILE_CONTROL = (
    RECORD_TYPE,
    Field("detail_count", "total registros recaudados en el archivo", 3, 9),
    Field("file_total", "valor total recaudado en el archivo", 12, 18),
)  # reserved 30-162

RECORDS: dict[str, tuple[str, tuple[Field, ...]]] = {
    "01": ("file header", FILE_HEADER), "05": ("lot header", LOT_HEADER), "06": ("detail", DETAIL),
    "08": ("lot control", LOT_CONTROL), "09": ("file control", FILE_CONTROL)}
# What may follow each record (None: the file's start); after 09 only blank lines.
FOLLOWS: dict[str | None, frozenset[str]] = {
    None: frozenset({"01"}), "01": frozenset({"05", "09"}), "05": frozenset({"06", "08"}),
    "06": frozenset({"06", "08"}), "08": frozenset({"05", "09"}), "09": frozenset()}


class AsobancariaRefused(Exception):
    """The whole file is refused: `code` is stable, `line` and `field` say where, `detail` why."""

    def __init__(self, code: str, line: int, field: str | None, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.line = line
        self.field = field
        self.detail = detail


def looks_like_asobancaria(first_line: bytes) -> bool:
    """A file header: record type 01 then the NIT, collection date and bank code in digits, on a line no longer
    than a record (a CSV statement's first line is its column names)."""
    line = first_line.rstrip(b"\r\n").removeprefix(UTF8_BOM)
    return len(line) <= RECORD_LENGTH and len(line) >= 55 and line[:2] == b"01" and line[2:23].isdigit()


def read_asobancaria(lines: Iterable[bytes], *, timezone: str) -> Iterator[BankRow | RejectedRow]:
    """Each detail of the file as a payment line (paid at noon of the collection date in `timezone`, its
    idempotency key the bank, account, date, file modifier, lot and the detail's sequence), or the reason it is not
    one to apply; raises AsobancariaRefused at the first defect. Holds one line and the running totals at a time,
    so read it through to the end before applying anything: the file is refused whole or not at all."""
    previous: str | None = None
    paid_at = dt.datetime.min
    file_key = lot_key = lot_number = ""
    lot_count = lot_total = file_count = file_total = 0
    last_sequence = -1
    number = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r\n").removeprefix(UTF8_BOM if number == 1 else b"").decode("latin-1")
        if previous == "09":
            if line.strip(" \x1a"):  # blank lines (and a DOS end-of-file mark) may follow the file control
                raise AsobancariaRefused(MALFORMED, number, RECORD_TYPE.name,
                                         f"line {number}: a record after the file control (09)")
            continue
        kind = _record_type(line, number, previous)
        values = _fields(line, number, kind)
        if kind == "01":
            collected = _date(values["collection_date"])
            assert collected is not None  # checked with its fields
            paid_at = local_instant(collected, timezone, BOOKED_AT)
            # The bank's sequence numbers a detail within its file; the file is the bank's, account's, day's and
            # modifier's (the modifier tells apart two files of one day), so together they name a payment for good.
            file_key = ":".join((FORMAT, values["bank_code"], values["account_number"].strip(),
                                 values["collection_date"], values["file_modifier"]))
        elif kind == "05":
            lot_number, lot_count, lot_total = values["lot_number"], 0, 0
            lot_key, last_sequence = f"{file_key}:{lot_number}", -1
        elif kind == "06":
            # Each detail's sequence names its payment: two alike would make the second a "duplicate" whose money
            # the totals count but the ledger never books. Rising within its lot (constant memory to check).
            sequence = int(values["sequence"])
            if sequence <= last_sequence:
                raise AsobancariaRefused(MALFORMED, number, "sequence",
                                         f"line {number}: sequence {sequence} does not follow {last_sequence} in "
                                         f"lot {lot_number} (each detail's sequence must rise)")
            last_sequence = sequence
            amount = int(values["amount"])
            lot_count, lot_total = lot_count + 1, lot_total + amount
            file_count, file_total = file_count + 1, file_total + amount
            yield _payment(values, number, amount, paid_at, f"{lot_key}:{values['sequence']}")
        elif kind == "08":
            if values["lot_number"] != lot_number:
                raise AsobancariaRefused(MALFORMED, number, "lot_number",
                                         f"line {number} (lot control): lot_number is {values['lot_number']}, but "
                                         f"the lot open is {lot_number}")
            _check_total(number, "lot control", "detail_count", int(values["detail_count"]), lot_count,
                         "details in its lot", money=False)
            _check_total(number, "lot control", "lot_total", int(values["lot_total"]), lot_total,
                         "its lot's details add up to", money=True)
        else:  # 09
            _check_total(number, "file control", "detail_count", int(values["detail_count"]), file_count,
                         "details in the file", money=False)
            _check_total(number, "file control", "file_total", int(values["file_total"]), file_total,
                         "the file's details add up to", money=True)
        previous = kind
    if previous is None:
        raise AsobancariaRefused(MALFORMED, 1, RECORD_TYPE.name,
                                 "the file is empty; an Asobancaria 2001 file starts with its file header (01)")
    if previous != "09":
        missing = "the lot control (08) of its last lot" if previous in ("05", "06") else "its file control (09)"
        raise AsobancariaRefused(MALFORMED, number + 1, RECORD_TYPE.name,
                                 f"the file ends at line {number} without {missing}")


def _record_type(line: str, number: int, previous: str | None) -> str:
    kind = line[:2]
    if kind not in RECORDS:
        what = "a blank line" if not line.strip() else "no Asobancaria 2001 record type (01, 05, 06, 08 or 09)"
        raise AsobancariaRefused(MALFORMED, number, RECORD_TYPE.name, f"line {number}: {what}")
    if kind not in FOLLOWS[previous]:
        after = "at the start of the file" if previous is None else f"after a {RECORDS[previous][0]} ({previous})"
        expected = " or ".join(f"{RECORDS[k][0]} ({k})" for k in sorted(FOLLOWS[previous]))
        raise AsobancariaRefused(MALFORMED, number, RECORD_TYPE.name,
                                 f"line {number}: a {RECORDS[kind][0]} ({kind}) {after}; expected {expected}")
    if len(line) > RECORD_LENGTH:
        raise AsobancariaRefused(MALFORMED, number, "record_length",
                                 f"line {number} ({RECORDS[kind][0]}) is {len(line)} characters; a record is "
                                 f"{RECORD_LENGTH}")
    return kind


def _fields(line: str, number: int, kind: str) -> dict[str, str]:
    """The record's fields by name, each numeric one checked to be digits (a short line read blank-filled)."""
    record, fields = RECORDS[kind]
    padded = line.ljust(RECORD_LENGTH)
    values: dict[str, str] = {}
    for field in fields:
        value = field.of(padded)
        if field.numeric and not (value.isascii() and value.isdigit()):
            raise AsobancariaRefused(MALFORMED, number, field.name,
                                     f"line {number} ({record}): {field.name} ({field.label}, positions "
                                     f"{field.positions}) must be {field.width} digits")
        values[field.name] = value
    if kind == "01":
        for name in ("collection_date", "file_date"):
            if _date(values[name]) is None:
                raise AsobancariaRefused(MALFORMED, number, name, f"line {number} (file header): {name} is no "
                                                                  "date (AAAAMMDD)")
        if int(values["file_time"][:2]) > 23 or int(values["file_time"][2:]) > 59:
            raise AsobancariaRefused(MALFORMED, number, "file_time",
                                     f"line {number} (file header): file_time is no time (HHMM)")
    return values


def _date(text: str) -> dt.date | None:
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def zero_filled(reference: str) -> bool:
    """A reference the file fills with zeros on the left (all ASCII digits: not ¹²³, which isdigit() takes for
    digits), whose own leading zeros a reader cannot tell from the fill."""
    return reference.isascii() and reference.isdigit()


def read_as(account_ref: str) -> str | None:
    """What an Asobancaria line says for this account when that differs from its reference: an all-digit reference
    with leading zeros loses them with the fill (0012345 reads 12345); None otherwise."""
    if zero_filled(account_ref) and account_ref.startswith("0"):
        return account_ref.lstrip("0") or None
    return None


def _check_total(number: int, record: str, field: str, stated: int, counted: int, what: str, *, money: bool) -> None:
    if stated != counted:
        said, found = (_pesos(stated), _pesos(counted)) if money else (str(stated), str(counted))
        raise AsobancariaRefused(TOTALS_MISMATCH, number, field,
                                 f"line {number} ({record}): {field} says {said}, but {what} {found}")


def _pesos(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2))


def _payment(values: dict[str, str], number: int, cents: int, paid_at: dt.datetime, key: str
             ) -> BankRow | RejectedRow:
    reference = values["reference"].strip()
    filled = zero_filled(reference)
    if filled:
        reference = reference.lstrip("0")
    if values["return_reason"].strip(" 0"):
        return RejectedRow(number, "returned_by_bank")  # the bank gave the payment back: no money came in
    if not reference:
        return RejectedRow(number, "missing_reference")
    if cents <= 0:
        return RejectedRow(number, "invalid_amount")
    return BankRow(number, reference, Decimal(cents).scaleb(-2), paid_at, key, METHOD, zero_filled=filled)
