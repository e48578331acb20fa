"""A due date left as its serial day number counts in the file's date system: a workbook saved in the 1904 system
(older Mac Excel) has serials 1,462 days smaller than the 1900 system every other file uses."""

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter

from ingest.domain.portfolio import Account, RowContext, check_row
from ingest.reading import FileLimits
from ingest.records import UploadParams
from ingest.row_checking import CheckingJob, RowChecker

pytestmark = pytest.mark.unit
CTX = RowContext(locale="es-CO", as_of=dt.date(2026, 3, 31), country="CO", currency="COP",
                 default_channels=("sms",))
DUE = dt.date(2026, 3, 1)  # 30 days past due as of CTX.as_of
SERIAL_1900, SERIAL_1904 = 46082, 44620  # DUE's serial in each system, as Excel shows it


def workbook(*, date1904: bool) -> bytes:
    """A portfolio with DUE written three ways: date-formatted, and as its serial in General format in the 1904
    and the 1900 system (only one of which can be right in a given workbook)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "date_1904": date1904})
    sheet = book.add_worksheet("Cartera")
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["Cuenta", "Cédula", "Nombre", "Saldo", "Vencimiento", "Fecha último pago"])
    sheet.write_row(1, 0, ["A-1", 1, "Ana", 1000])
    sheet.write_datetime(1, 4, dt.datetime.combine(DUE, dt.time()), day)
    sheet.write_row(2, 0, ["A-2", 2, "Luis", 1000, SERIAL_1904, SERIAL_1904 - 10])
    sheet.write_row(3, 0, ["A-3", 3, "Eva", 1000, SERIAL_1900])
    book.close()
    return buffer.getvalue()


def checked(tmp_path: Path, name: str, content: bytes) -> tuple[dict[str, Account], list[tuple[int, str, str]]]:
    """The file's accounts and rejections as the upload worker's reading and rules make them."""
    path = tmp_path / name
    path.write_bytes(content)
    job = CheckingJob(path=path, filename=name, params=UploadParams(), size=len(content), limits=FileLimits(),
                      ctx=CTX, seen=set(), done=0, batch_rows=100, batch_chars=2**20)
    with path.open("rb") as handle:
        batch = RowChecker.open(job, handle).next()
    assert batch is not None
    return {a.account_ref: a for a in batch.accepted}, [(i.row, i.field, i.code) for i, _ in batch.rejected]


def test_a_general_formatted_serial_in_a_1904_workbook_is_the_day_it_shows(tmp_path: Path) -> None:
    accounts, rejected = checked(tmp_path, "cartera.xlsx", workbook(date1904=True))
    assert (accounts["A-1"].due_date, accounts["A-1"].days_past_due) == (DUE, 30)  # date-formatted
    assert (accounts["A-2"].due_date, accounts["A-2"].days_past_due) == (DUE, 30)  # General, the 1904 serial
    assert accounts["A-2"].last_payment_date == dt.date(2026, 2, 19)
    # The 1900 serial of the same day is 2030-03-02 in this workbook: 1,432 days ahead, out of range.
    assert rejected == [(4, "due_date", "invalid_due_date")]


def test_a_general_formatted_serial_in_a_1900_workbook_is_read_as_before(tmp_path: Path) -> None:
    accounts, rejected = checked(tmp_path, "cartera.xlsx", workbook(date1904=False))
    assert rejected == []
    assert (accounts["A-1"].due_date, accounts["A-1"].days_past_due) == (DUE, 30)
    assert (accounts["A-3"].due_date, accounts["A-3"].days_past_due) == (DUE, 30)
    assert (accounts["A-2"].due_date, accounts["A-2"].days_past_due) == (dt.date(2022, 2, 28), 1492)


def test_a_json_number_in_a_date_column_is_a_1900_serial(tmp_path: Path) -> None:
    line = {"cuenta": "J-1", "cedula": "1", "nombre": "Ana", "saldo": 1000, "vencimiento": SERIAL_1900}
    accounts, _ = checked(tmp_path, "cartera.jsonl", json.dumps(line).encode() + b"\n")
    assert (accounts["J-1"].due_date, accounts["J-1"].days_past_due) == (DUE, 30)


def test_the_rules_count_a_serial_in_the_date_system_they_are_told() -> None:
    row = {"account_ref": ["A-1"], "debtor_id": ["1"], "full_name": ["Ana"], "balance": ["1.000"],
           "due_date": [Decimal(SERIAL_1904)]}
    account, _, _ = check_row(row, {}, 2, RowContext(**{**vars(CTX), "date1904": True}))
    assert account is not None and (account.due_date, account.days_past_due) == (DUE, 30)
    account, _, _ = check_row(row, {}, 2, CTX)
    assert account is not None and account.due_date == dt.date(2022, 2, 28)
