"""Property: any messy portfolio file ends as accepted + rejected records, never a crash, and every accepted
balance is exactly what the file meant."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.domain.portfolio import RowContext, check_row, map_columns
from recaudo_common.files import csv_rows, sniff

pytestmark = pytest.mark.unit
CTX = RowContext(locale="es-CO", as_of=dt.date(2026, 3, 31), country="CO", currency="COP",
                 default_channels=("sms",))


def es_co(value: Decimal, grouped: bool) -> str:
    text = f"{value:,.2f}" if grouped else f"{value:.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


good_balance = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2)
junk = st.sampled_from(["", "abc", "1.5", "1234567.89", "-100", "0", "1.000.000.000.000", "=1+1", "12,3,4",
                        "NaN", "∞", "1 000"])


@st.composite
def record(draw: st.DrawFn, n: int) -> tuple[list[str], Decimal | None]:
    ref = draw(st.sampled_from([f"A-{n}", f"A-{n}", "A-1", "", " "]))
    name = draw(st.text(alphabet="abcñáé ;\"\n,", min_size=0, max_size=12))
    if draw(st.booleans()):
        value = draw(good_balance)
        balance, meant = es_co(value, draw(st.booleans())), value
    else:
        balance, meant = draw(junk), None
    dpd = draw(st.sampled_from(["10", "0", "-3", "400", "", "x", "36501"]))
    return [ref, str(1000 + n), name, balance, dpd], meant


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), size=st.integers(0, 25), delimiter=st.sampled_from([";", ",", "|", "\t"]),
       blank_every=st.integers(2, 7), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_every_record_is_accepted_or_rejected(data: st.DataObject, size: int, delimiter: str, blank_every: int,
                                              encoding: str) -> None:
    records = [data.draw(record(i)) for i in range(size)]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["Obligación", "Cédula", "Nombre", "Saldo", "Días Mora"])
    for i, (fields, _) in enumerate(records):
        writer.writerow(fields)
        if i % blank_every == 0:
            out.write("\r\n" if i % 2 else delimiter * 4 + "\r\n")  # blank and all-empty lines
    content = out.getvalue().encode(encoding, errors="replace")
    sniffed = sniff(content[:65536], filename=None, encoding=None, delimiter=None)
    header, rows = csv_rows(iter([content[i:i + 97] for i in range(0, len(content), 97)]), sniffed)
    columns = map_columns(header)
    accepted, rejected, seen = [], 0, set()
    for number, cells in rows:
        values = {f: [cells[i] if i < len(cells) else "" for i in idx] for f, idx in columns.fields.items()}
        account, _, _ = check_row(values, {}, number, CTX)
        if account is None or account.account_ref in seen:
            rejected += 1
            continue
        seen.add(account.account_ref)
        accepted.append(account)
    meaningful = [r for r in records if any(f.strip() for f in r[0])]
    assert len(accepted) + rejected == len(meaningful)
    for account in accepted:  # the debtor ID carries the record's index: compare with what that row meant
        assert account.balance == records[int(account.debtor_id) - 1000][1]
    assert len({a.account_ref for a in accepted}) == len(accepted)


@pytest.mark.parametrize("inside", ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_only_cr_and_lf_end_a_record(inside: str) -> None:
    from recaudo_common.files import jsonl_rows

    text = f"Cuenta;Saldo;Nombre\r\nA-1;1000;Ana{inside}Gomez\r\nA-2;2000;Luis\r\n"
    sniffed = sniff(text.encode(), filename=None, encoding="utf-8", delimiter=None)
    header, rows = csv_rows(iter([text.encode()]), sniffed)
    assert header == ["Cuenta", "Saldo", "Nombre"]
    assert list(rows) == [(2, ["A-1", "1000", f"Ana{inside}Gomez"]), (3, ["A-2", "2000", "Luis"])]
    # A JSON line may hold U+2028 raw in a string (JSON.stringify writes it so): one record, not two. (The
    # controls below U+0020 are not JSON unescaped.)
    if inside < " ":
        return
    lines = f'{{"cuenta": "A-1", "nombre": "Ana{inside}Gomez"}}\n{{"cuenta": "A-2", "nombre": "Luis"}}\n'
    sniffed = sniff(lines.encode(), filename="c.jsonl", encoding="utf-8", delimiter=None)
    header, rows = jsonl_rows(iter([lines.encode()]), sniffed)
    assert [cells for _, cells in rows] == [["A-1", f"Ana{inside}Gomez"], ["A-2", "Luis"]]


def test_a_json_lines_column_first_named_after_a_thousand_records_is_read(tmp_path: object) -> None:
    import pathlib

    from ingest.reading import CountingReader, FileLimits, open_rows
    from ingest.records import UploadParams

    first = [f'{{"obligacion": "A-{i}", "cedula": "{i}", "nombre": "Ana", "saldo": 1000, "dias_mora": 5}}'
             for i in range(1200)]
    late = '{"obligacion": "A-X", "cedula": "9", "nombre": "Luis", "saldo": 2000, "dias_mora": 5, ' \
           '"telefono": "3001234567", "correo": "luis@example.com"}'
    path = pathlib.Path(str(tmp_path)) / "cartera.jsonl"
    path.write_text("\n".join([*first, late]) + "\n", encoding="utf-8")
    with path.open("rb") as handle:
        header, rows, *_ = open_rows(path, "cartera.jsonl", UploadParams(), CountingReader(handle),
                                       path.stat().st_size, FileLimits())
        assert header[-2:] == ["telefono", "correo"]
        *_, (number, cells) = list(rows)
    assert number == 1202 and cells[-2:] == ["3001234567", "luis@example.com"]
