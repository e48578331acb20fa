"""A phone cell holding several phones, as client companies' systems write them: each valid one kept, each invalid
one warned, at most MAX_PHONES an account."""

import datetime as dt

import pytest

from ingest.domain.portfolio import MAX_PHONES, RowContext, check_row

pytestmark = pytest.mark.unit
CTX = RowContext(locale="es-CO", as_of=dt.date(2026, 3, 31), country="CO", currency="COP",
                 default_channels=("sms",))
BOTH = ["+573001234567", "+573109876543"]


def _row(*phones: str) -> dict[str, list[str]]:
    values = {"account_ref": ["A-1"], "debtor_id": ["1020304050"], "full_name": ["Ana Gómez"],
              "balance": ["1.500.000"], "days_past_due": ["45"]}
    return values | {"phones": list(phones)}


@pytest.mark.parametrize("cell", [
    "3001234567 / 3109876543", "300 123 4567, 310 987 6543", "3001234567-3109876543", "3001234567;3109876543",
    "3001234567 | 3109876543", "300-123-4567 310-987-6543", "300 123 4567 - 310 987 6543", "3001234567 3109876543",
    "3001234567\n3109876543", "3001234567 / 3109876543 / 3001234567",
    # Two phones each written in groups, with only a space between them: each is the shortest run of groups that is
    # a phone (both were lost, the cell one invalid phone).
    "300 123 4567 310 987 6543", "+57 300 123 4567 +57 310 987 6543", "300 1234567 310 9876543",
    "300-123-4567 - 310-987-6543",
    # A word or sign between two phones is no phone to warn about.
    "3001234567 y 3109876543", "3001234567 ó 3109876543", "Cel 3001234567 Fijo 3109876543", "3001234567 & 3109876543",
    # A label after the last of two phones a hyphen separates, as CRMs write whose phone it is (the second was
    # one invalid phone: the hyphen read found the first and never read the rest at spaces).
    "3001234567 - 3109876543 (oficina)", "3001234567 - 3109876543 casa", "3001234567-3109876543 (fijo)",
    "3001234567 (casa) - 3109876543 (oficina)",
])
def test_each_phone_of_a_cell_is_kept(cell: str) -> None:
    account, rejections, warnings = check_row(_row(cell), {}, 2, CTX)
    assert account is not None and not rejections and not warnings
    assert account.phones == BOTH


@pytest.mark.parametrize("cell", ["300-123-4567", "300 123 4567", "(601) 234 5678", "+57 300 123 4567",
                                  # A program's float (pandas writes a column with a gap in it so) is the phone.
                                  "3001234567.0", "3001234567.00"])
def test_one_phone_written_with_separators_stays_one(cell: str) -> None:
    account, _, warnings = check_row(_row(cell), {}, 2, CTX)
    assert account is not None and len(account.phones) == 1 and not warnings


@pytest.mark.parametrize("cell", ["3001234567 / 123", "123, 3001234567", "3001234567-12345"])
def test_an_invalid_phone_of_a_cell_is_warned_and_the_others_kept(cell: str) -> None:
    account, _, warnings = check_row(_row(cell), {}, 2, CTX)
    assert account is not None and account.phones == ["+573001234567"]
    assert [(w.field, w.code) for w in warnings] == [("phones", "invalid_phone")]


def test_phones_past_the_limit_are_warned() -> None:
    many = [f"300{n:07d}" for n in range(1234560, 1234560 + MAX_PHONES + 2)]
    account, _, warnings = check_row(_row(" / ".join(many[:6]), ", ".join(many[6:])), {}, 2, CTX)
    assert account is not None and len(account.phones) == MAX_PHONES
    assert [(w.field, w.code, w.message) for w in warnings] == [
        ("phones", "too_many_phones", f"the row has {MAX_PHONES + 2} phones; the first {MAX_PHONES} are kept")]


@pytest.mark.parametrize("cell", ["N/A", "n/a", "NA", "N.A.", "n/d", "S/N", "No aplica", "-", "--", "sin teléfono",
                                  "ninguno", "no tiene / no aplica"])
def test_a_cell_saying_there_is_no_phone_is_one_invalid_phone(cell: str) -> None:
    # As the e-mail and every optional column say such a placeholder: once, as what the column cannot read
    # ("N/A" was two phones, "N" and "A", each warned).
    account, rejections, warnings = check_row(_row(cell), {}, 2, CTX)
    assert account is not None and not rejections and account.phones == []
    assert [(w.field, w.code) for w in warnings] == [("phones", "invalid_phone")]


@pytest.mark.parametrize("cell", ["3001234567 / N/A", "N/A / 3001234567", "3001234567 / no aplica / n/d"])
def test_words_beside_a_phone_are_warned_once(cell: str) -> None:
    account, _, warnings = check_row(_row(cell), {}, 2, CTX)
    assert account is not None and account.phones == ["+573001234567"]
    assert [(w.field, w.code) for w in warnings] == [("phones", "invalid_phone")]
