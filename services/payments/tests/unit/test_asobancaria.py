"""Asobancaria 2001 recaudo files, built here from the published layout (payments/domain/asobancaria.py names the
sources): sound files read into payment lines; every kind of defect refuses the whole file naming its line and
field; a 200,000-line file is read in bounded memory."""

import datetime as dt
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain.asobancaria import (
    MALFORMED,
    RECORD_LENGTH,
    TOTALS_MISMATCH,
    AsobancariaRefused,
    looks_like_asobancaria,
    read_asobancaria,
)
from payments.domain.bank_files import BankRow, RejectedRow
from recaudo_common.testing import sized

pytestmark = pytest.mark.unit
BOGOTA = "America/Bogota"


def record(text: str) -> str:
    assert len(text) <= RECORD_LENGTH
    return text.ljust(RECORD_LENGTH)


def file_header(*, nit: str = "9001234567", collected: str = "20260405", bank: str = "007",
                account: str = "00000000400702127", written: str = "20260406", time: str = "0213",
                modifier: str = "A", account_type: str = "01") -> str:
    return record("01" + nit + collected + bank + account + written + time + modifier + account_type)


def lot_header(lot: int = 1, service: str = "7709998888487") -> str:
    return record("05" + service + f"{lot:04d}")


def detail(reference: str, cents: int, sequence: int, *, origin: str = "01", method: str = "01",
           debited: str = "040", branch: str = "9779", cause: str = "000") -> str:
    ref = reference.rjust(48, "0") if reference.isdigit() else reference.ljust(48)
    return record("06" + ref + f"{cents:014d}" + origin + method + "000000" + "000000" + debited + branch
                  + f"{sequence:07d}" + cause)


def lot_control(count: int, cents: int, lot: int = 1) -> str:
    return record("08" + f"{count:09d}" + f"{cents:018d}" + f"{lot:04d}")


def file_control(count: int, cents: int) -> str:
    return record("09" + f"{count:09d}" + f"{cents:018d}")


def two_lots() -> list[str]:
    """Lot 1: two payments (18,000.00 and 1,500.50); lot 2: one (250,000.00) to a text reference."""
    return [file_header(), lot_header(1), detail("1055909", 1_800_000, 2), detail("1055907", 150_050, 3),
            lot_control(2, 1_950_050, 1), lot_header(2), detail("A-1", 25_000_000, 4), lot_control(1, 25_000_000, 2),
            file_control(3, 26_950_050)]


def read(lines: list[str], *, ending: str = "\r\n") -> list[BankRow | RejectedRow]:
    return list(read_asobancaria([(line + ending).encode("latin-1") for line in lines], timezone=BOGOTA))


def refusal(lines: list[str]) -> AsobancariaRefused:
    with pytest.raises(AsobancariaRefused) as caught:
        read(lines)
    return caught.value


def test_a_two_lot_file_with_its_totals_right_reads_into_payment_lines() -> None:
    rows = read(two_lots())
    assert all(isinstance(r, BankRow) for r in rows)
    payments = [r for r in rows if isinstance(r, BankRow)]
    assert [(p.row, p.reference, p.amount) for p in payments] == [
        (3, "1055909", Decimal("18000.00")), (4, "1055907", Decimal("1500.50")), (7, "A-1", Decimal("250000.00"))]
    # An all-digit reference lost its zero-fill, and with it any zeros of the account's own: the line says so.
    assert [p.zero_filled for p in payments] == [True, True, False]
    # Paid on the collection date of the file header, at noon in the client company's zone, as a CSV row.
    assert {p.paid_at for p in payments} == {dt.datetime(2026, 4, 5, 12, tzinfo=ZoneInfo(BOGOTA))}
    assert all(p.paid_at.utcoffset() == dt.timedelta(hours=-5) for p in payments)
    assert {p.method for p in payments} == {"bank_collection"}
    # The bank, its account, the day, the file modifier, the lot and the sequence: the same file gives the same
    # keys (a re-import applies nothing twice), each detail its own.
    keys = [p.transaction_id for p in payments]
    assert keys[0] == "asobancaria2001:007:00000000400702127:20260405:A:0001:0000002"
    assert len(set(keys)) == 3
    assert [p.transaction_id for p in read(two_lots(), ending="\n") if isinstance(p, BankRow)] == keys
    # Another file of the same day (modifier B) names other payments.
    other = [file_header(modifier="B"), *two_lots()[1:]]
    assert not {p.transaction_id for p in read(other) if isinstance(p, BankRow)} & set(keys)


def test_details_that_are_no_payment_to_apply_are_rejected_rows_and_still_count_in_the_totals() -> None:
    lines = [file_header(), lot_header(), detail("1055909", 1_000_000, 2, cause="R01"), detail("0", 500_000, 3),
             detail("1055911", 0, 4), detail("1055912", 200_000, 5, cause="   "), lot_control(4, 1_700_000),
             file_control(4, 1_700_000)]
    rows = read(lines)
    assert rows[:3] == [RejectedRow(3, "returned_by_bank"), RejectedRow(4, "missing_reference"),
                        RejectedRow(5, "invalid_amount")]
    assert isinstance(rows[3], BankRow) and rows[3].amount == Decimal("2000.00")


def test_blank_trimmed_records_crlf_and_trailing_blank_lines_are_read() -> None:
    # A bank's file in micros/asobancaria (ejemplos/11JULIO.TXT) ends with a file control cut to its 29
    # characters; a blank-filled reserved area cut off loses nothing.
    lines = [line.rstrip() for line in two_lots()]
    assert len(lines[-1]) == 29
    data = ("\r\n".join(lines)).encode() + b"\r\n\r\n\x1a"
    assert len([r for r in read_asobancaria(iter(data.splitlines(keepends=True)), timezone=BOGOTA)]) == 3


def test_a_byte_order_mark_before_the_header_is_no_part_of_it() -> None:
    lines = two_lots()
    data = [b"\xef\xbb\xbf" + (lines[0] + "\r\n").encode(), *[(line + "\r\n").encode() for line in lines[1:]]]
    assert looks_like_asobancaria(data[0])
    assert len(list(read_asobancaria(data, timezone=BOGOTA))) == 3
    # Only before the header: elsewhere it is three characters too many where a record type should be.
    data[1] = b"\xef\xbb\xbf" + data[1]
    with pytest.raises(AsobancariaRefused) as caught:
        list(read_asobancaria(data, timezone=BOGOTA))
    assert (caught.value.code, caught.value.line, caught.value.field) == (MALFORMED, 2, "record_type")


def test_a_file_with_no_lots_and_zero_totals_is_an_empty_day() -> None:
    assert read([file_header(), file_control(0, 0)]) == []


def replace(lines: list[str], index: int, line: str) -> list[str]:
    return [*lines[:index], line, *lines[index + 1:]]


def cut(line: str, start: int, text: str) -> str:
    """The line with `text` written from position `start` (counting from 1, as the layout does)."""
    return line[:start - 1] + text + line[start - 1 + len(text):]


GOOD = two_lots()
DEFECTS: dict[str, tuple[list[str], str, int, str, str]] = {
    # name: (file, code, line, field, words the reason says)
    "a sequence repeated in a lot": (replace(GOOD, 3, detail("1055907", 150_050, 2)), MALFORMED, 4, "sequence",
                                     "sequence 2 does not follow 2 in lot 0001"),
    "lot total": (replace(GOOD, 4, lot_control(2, 1_950_051, 1)), TOTALS_MISMATCH, 5, "lot_total",
                  "lot_total says 19500.51, but its lot's details add up to 19500.50"),
    "lot count": (replace(GOOD, 4, lot_control(3, 1_950_050, 1)), TOTALS_MISMATCH, 5, "detail_count",
                  "detail_count says 3, but details in its lot 2"),
    "file total": (replace(GOOD, 8, file_control(3, 26_950_000)), TOTALS_MISMATCH, 9, "file_total",
                   "file_total says 269500.00, but the file's details add up to 269500.50"),
    "file count": (replace(GOOD, 8, file_control(2, 26_950_050)), TOTALS_MISMATCH, 9, "detail_count",
                   "detail_count says 2, but details in the file 3"),
    "a detail before its lot header": ([GOOD[0], GOOD[2], *GOOD[1:2], *GOOD[3:]], MALFORMED, 2, "record_type",
                                       "a detail (06) after a file header (01); expected lot header (05) or file "
                                       "control (09)"),
    "a lot without its lot control": ([*GOOD[:4], *GOOD[5:]], MALFORMED, 5, "record_type",
                                      "a lot header (05) after a detail (06)"),
    "a file without its file control": (GOOD[:-1], MALFORMED, 9, "record_type",
                                        "the file ends at line 8 without its file control (09)"),
    "a file cut in a lot": (GOOD[:3], MALFORMED, 4, "record_type",
                            "the file ends at line 3 without the lot control (08) of its last lot"),
    "an empty file": ([], MALFORMED, 1, "record_type", "the file is empty"),
    "a CSV statement": (["Fecha;Referencia;Valor"], MALFORMED, 1, "record_type", "no Asobancaria 2001 record type"),
    "a file starting with a lot": (GOOD[1:], MALFORMED, 1, "record_type", "at the start of the file"),
    "an unknown record type": (replace(GOOD, 3, "07" + GOOD[3][2:]), MALFORMED, 4, "record_type",
                               "no Asobancaria 2001 record type"),
    "a blank line inside": ([*GOOD[:3], "", *GOOD[3:]], MALFORMED, 4, "record_type", "a blank line"),
    "a record after the file control": ([*GOOD, lot_header(3)], MALFORMED, 10, "record_type",
                                        "a record after the file control (09)"),
    "a line too long": (replace(GOOD, 2, GOOD[2] + "0"), MALFORMED, 3, "record_length",
                        "line 3 (detail) is 163 characters; a record is 162"),
    "a detail cut short": (replace(GOOD, 2, GOOD[2][:60]), MALFORMED, 3, "amount",
                           "amount (valor recaudado, positions 51-64) must be 14 digits"),
    "a letter in an amount": (replace(GOOD, 3, cut(GOOD[3], 60, "O")), MALFORMED, 4, "amount", "must be 14 digits"),
    "a space in an amount": (replace(GOOD, 3, cut(GOOD[3], 51, " ")), MALFORMED, 4, "amount", "must be 14 digits"),
    "a non-ASCII digit in an amount": (replace(GOOD, 3, cut(GOOD[3], 51, "\u00b2")), MALFORMED, 4, "amount",
                                       "must be 14 digits"),
    "a letter in a sequence": (replace(GOOD, 6, cut(GOOD[6], 88, "X")), MALFORMED, 7, "sequence",
                               "sequence (secuencia, positions 88-94) must be 7 digits"),
    "a letter in the NIT": (replace(GOOD, 0, cut(GOOD[0], 3, "A")), MALFORMED, 1, "collector_nit",
                            "must be 10 digits"),
    "a sign in a lot total": (replace(GOOD, 4, cut(GOOD[4], 12, "-")), MALFORMED, 5, "lot_total",
                              "must be 18 digits"),
    "a letter in a file total": (replace(GOOD, 8, cut(GOOD[8], 29, "O")), MALFORMED, 9, "file_total",
                                 "must be 18 digits"),
    "a collection date that is no date": (replace(GOOD, 0, file_header(collected="20260230")), MALFORMED, 1,
                                          "collection_date", "collection_date is no date"),
    "a file time that is no time": (replace(GOOD, 0, file_header(time="2460")), MALFORMED, 1, "file_time",
                                    "file_time is no time"),
    "a lot control of another lot": (replace(GOOD, 4, lot_control(2, 1_950_050, 7)), MALFORMED, 5, "lot_number",
                                     "lot_number is 0007, but the lot open is 0001"),
}


@pytest.mark.parametrize("name", list(DEFECTS))
def test_each_defect_refuses_the_whole_file_naming_its_line_and_field(name: str) -> None:
    lines, code, line, field, words = DEFECTS[name]
    refused = refusal(lines)
    assert (refused.code, refused.line, refused.field) == (code, line, field), refused.detail
    assert words in refused.detail
    if lines:
        assert refused.detail.startswith((f"line {line}", "the file ends"))


def test_a_refusal_never_quotes_a_reference() -> None:
    # The reference may be a person's id number: a refusal names positions and totals, never what the line says.
    lines = replace(GOOD, 2, cut(detail("79123456", 1_800_000, 2), 51, "X"))
    assert "79123456" not in refusal(lines).detail


@given(amounts=st.lists(st.lists(st.integers(0, 10**12), min_size=0, max_size=5), min_size=0, max_size=4),
       lot=st.integers(0, 3), position=st.integers(0, 4), delta=st.integers(1, 10**6))
def test_any_amount_changed_after_the_totals_were_written_refuses_the_file(
        amounts: list[list[int]], lot: int, position: int, delta: int) -> None:
    lines, sequence = [file_header()], 1
    for number, lot_amounts in enumerate(amounts, start=1):
        lines.append(lot_header(number))
        for cents in lot_amounts:
            sequence += 1
            lines.append(detail(str(1000 + sequence), cents, sequence))
        lines.append(lot_control(len(lot_amounts), sum(lot_amounts), number))
    lines.append(file_control(sum(map(len, amounts)), sum(map(sum, amounts))))
    rows = read(lines)
    assert sum(r.amount for r in rows if isinstance(r, BankRow)) == Decimal(sum(map(sum, amounts))).scaleb(-2)
    details = [i for i, line in enumerate(lines) if line.startswith("06")]
    if not details:
        return
    target = details[(lot * 5 + position) % len(details)]
    changed = int(lines[target][50:64]) + delta
    tampered = replace(lines, target, cut(lines[target], 51, f"{changed:014d}"))
    refused = refusal(tampered)
    assert (refused.code, refused.field) == (TOTALS_MISMATCH, "lot_total")


def test_the_first_line_tells_an_asobancaria_file_from_a_csv_statement() -> None:
    assert looks_like_asobancaria(file_header().encode() + b"\r\n")
    assert looks_like_asobancaria(file_header().rstrip().encode())
    assert not looks_like_asobancaria(b"Fecha;Referencia;Valor;Comprobante\n")
    assert not looks_like_asobancaria(b"01/04/2026;A-1;10.000,00;TX-1\n")
    assert not looks_like_asobancaria(file_header().encode() + b"x")


def big_file(details: int) -> Iterator[bytes]:
    """A file of `details` details in lots of 1,000, made line by line as it is read (never whole in memory)."""
    yield (file_header() + "\r\n").encode()
    lots, sequence = (details + 999) // 1000, 1
    for lot in range(1, lots + 1):
        yield (lot_header(lot % 10_000) + "\r\n").encode()
        in_lot = min(1000, details - (lot - 1) * 1000)
        for _ in range(in_lot):
            sequence += 1
            yield (detail(str(sequence), 12_345, sequence) + "\r\n").encode()
        yield (lot_control(in_lot, in_lot * 12_345, lot % 10_000) + "\r\n").encode()
    yield (file_control(details, details * 12_345) + "\r\n").encode()


def test_a_large_file_is_read_in_bounded_memory() -> None:
    # 19,958 details: with the header, 20 lots' two records each and the file control, 20,000 lines (3 MiB, six
    # times the memory bound); 200,000 lines (32 MiB) under `make test-full`.
    details = sized(19_958, 199_598)
    assert sum(1 for _ in big_file(details)) == sized(20_000, 200_000)
    assert sum(len(line) for line in big_file(details)) > 6 * 512 * 1024  # the whole file would not fit the bound
    tracemalloc.start()
    try:
        count, total = 0, Decimal(0)
        for row in read_asobancaria(big_file(details), timezone=BOGOTA):
            assert isinstance(row, BankRow)
            count, total = count + 1, total + row.amount
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, total) == (details, Decimal(details * 12_345).scaleb(-2))
    assert peak < 512 * 1024, f"peak {peak} bytes: the reader holds more than a line at a time"
