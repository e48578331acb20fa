"""Rows read as the file wrote them, through ingest's real HTTP API and a real PostgreSQL: a CSV row with more fields
than its header (a separator inside a value) is refused, not read shifted; a workbook's cell past its header is
kept as an attribute of the account."""

import codecs

import pytest
from sqlalchemy import text

from .conftest import Ingest
from .test_uploads import workbook

pytestmark = pytest.mark.integration


async def test_a_row_with_more_fields_than_its_header_is_rejected_whole(ingest: Ingest) -> None:
    # Row 2: "Gómez;Ana" written unquoted, so the balance slid into the name's place and the days past due into the
    # balance's. Row 3 is as its header. Row 4: one value too many at the end.
    content = "\n".join(["Obligación;Cédula;Nombre;Saldo;Mora", "A-1;1;Gómez;Ana;1.000;5", "A-2;2;Luis;2.000;5",
                         "A-3;3;Eva;3.000;5;x"]).encode()
    done = await ingest.upload("banco", content)
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 1, 2), done
    assert done["counts_by_code"] == {"too_many_fields": 2}
    rejected = (await ingest.http.get(f"/v1/portfolios/{done['id']}/rejections")).json()["items"]
    assert [(r["row"], r["field"], r["code"], r["message"]) for r in rejected] == [
        (2, "column_6", "too_many_fields", "the row has 6 fields and the header 5"),
        (4, "column_6", "too_many_fields", "the row has 6 fields and the header 5")]
    assert rejected[0]["raw"] == {"Obligación": "A-1", "Cédula": "1", "Nombre": "Gómez", "Saldo": "Ana",
                                  "Mora": "1.000", "column_6": "5"}  # nothing of the row is lost
    assert [e["account_ref"] for e in await ingest.events("account.placed")] == ["A-2"]


async def test_a_slid_row_whose_last_column_is_blank_is_rejected_not_read_slid(ingest: Ingest) -> None:
    # Commas separate the fields and a balance's decimal comma is not quoted: row 3's 1500000,50 is two fields, so
    # its days past due would read 50, its blank e-mail's place 30, and the blank e-mail itself fall past the
    # header, an empty field that is no habit of this file's (row 2 has none), so the row slid.
    plain = "\n".join(["Obligación,Cédula,Nombre,Saldo,Mora,Correo", "A-1,1,Ana,1500000,30,ana@correo.co",
                       "A-2,2,Luis,1500000,50,30,"])
    done = await ingest.upload("banco", plain.encode())
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 1, 1), done
    assert await ingest.issues(done) == [(3, "column_7", "too_many_fields")]
    # An exporter that ends every line with the separator: that one empty field is the file's habit, not a column,
    # and a row with one field more than that slid, whether or not its last column is blank.
    ended = "\n".join(["Obligación;Cédula;Nombre;Saldo;Mora;Correo", "B-1;3;Ana;1.000;5;;",
                       "B-2;4;Luis;2.000;5;luis@correo.co;", "B-3;5;Gómez;Eva;3.000;5;;"])
    done = await ingest.upload("banco", ended.encode())
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 2, 1), done
    rejected = (await ingest.http.get(f"/v1/portfolios/{done['id']}/rejections")).json()["items"]
    assert [(r["row"], r["field"], r["code"], r["message"]) for r in rejected] == [
        (4, "column_7", "too_many_fields", "the row has 7 fields and the header 6")]
    assert sorted(e["account_ref"] for e in await ingest.events("account.placed")) == ["A-1", "B-1", "B-2"]


async def test_a_workbooks_cell_past_its_header_is_kept_with_the_account(ingest: Ingest) -> None:
    # A sheet's cells cannot slide: a note typed right of the last column is a column without a name, kept.
    content = workbook([["Obligación", "Cédula", "Nombre", "Saldo", "Mora"], ["A-1", 1, "Ana", 1000, 5, "llamar"]])
    done = await ingest.upload("banco", content, "cartera.xlsx")
    assert (done["status"], done["rows_accepted"]) == ("completed", 1), done
    async with ingest.platform.db.transaction() as s:
        stated = await s.scalar(text("SELECT stated FROM ingest.accounts WHERE client_slug = 'banco'"
                                     " AND account_ref = 'A-1'"))
    assert stated["extra"] == {"column_6": "llamar"}


async def test_optional_fields_that_cannot_be_read_are_warned_and_the_row_accepted(ingest: Ingest) -> None:
    content = "\n".join([
        "Obligación;Cédula;Nombre;Saldo;Mora;Monto Original;Fecha Ultimo Pago;Valor Ultimo Pago;Canales",
        "A-1;1;Ana;1.000;5;2.000.000;01/03/2026;50.000;sms",
        "A-2;2;Luis;1.000;5;dos millones;31/02/2026;50.000,505;sms, carta"]).encode()
    done = await ingest.upload("banco", content)
    assert (done["status"], done["rows_accepted"], done["rows_with_warnings"]) == ("completed", 2, 1), done
    assert sorted(await ingest.issues(done, "warnings")) == [
        (3, "authorised_channels", "invalid_authorised_channels"),
        (3, "last_payment_amount", "invalid_last_payment_amount"),
        (3, "last_payment_date", "invalid_last_payment_date"), (3, "original_amount", "invalid_original_amount")]
    placed = {e["account_ref"]: e for e in await ingest.events("account.placed")}
    assert (placed["A-1"]["original_amount"], placed["A-1"]["last_payment_date"]) == ("2000000", "2026-03-01")
    assert (placed["A-2"]["original_amount"], placed["A-2"]["last_payment_date"],
            placed["A-2"]["last_payment_amount"], placed["A-2"]["authorised_channels"]) == (None, None, None, ["sms"])




async def test_a_balance_written_past_the_cent_is_refused_and_a_numbers_is_kept_to_the_cent(ingest: Ingest) -> None:
    # Text (a CSV's cell, a JSON string) states its digits: past the cent it is refused. A number (a workbook's
    # cell, a JSON number) may carry arithmetic's digits past the cent: it is the cent it shows.
    csv_file = "\n".join(["Obligación;Cédula;Nombre;Saldo;Mora", "A-1;1;Ana;100,004;5", "A-2;2;Luis;100,50;5"])
    done = await ingest.upload("banco", csv_file.encode())
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 1, 1), done
    rejected = (await ingest.http.get(f"/v1/portfolios/{done['id']}/rejections")).json()["items"]
    assert [(r["row"], r["code"], r["message"]) for r in rejected] == [
        (2, "invalid_balance", "the balance is written past the cent (more than two decimals that are not 0); "
                               "amounts are kept to the cent")]
    jsonl = ('{"obligacion": "J-1", "cedula": "3", "nombre": "Eva", "saldo": "1.000,505", "mora": 5}\n'
             '{"obligacion": "J-2", "cedula": "4", "nombre": "Sol", "saldo": 1000.505, "mora": 5}\n')
    done = await ingest.upload("banco", jsonl.encode(), "cartera.jsonl")
    assert await ingest.issues(done) == [(2, "balance", "invalid_balance")]
    assert [e["balance"] for e in await ingest.events("account.placed")] == ["100.50", "1000.51"]


async def test_a_chilean_client_companys_amounts_are_whole_pesos(ingest: Ingest) -> None:
    # CLP has no decimals: a written 1.500,50 is refused (rounding would place a balance the file does not state),
    # 1.500,00 is whole pesos; a workbook's number is the peso it shows; an optional amount with decimals is warned.
    chile = {"slug": "retail-cl", "name": "Retail Chile", "country": "CL", "currency": "CLP",
             "timezone": "America/Santiago", "locale": "es-CL"}
    assert (await ingest.http.post("/v1/clients", json=chile)).status_code == 201
    csv_file = "\n".join(["Obligación;Documento;Nombre;Saldo;Mora;Valor Ultimo Pago", "C-1;11111111-1;Ana;1.500,50;5;",
                          "C-2;22222222-2;Luis;1.500,00;5;20.000,50", "C-3;33333333-3;Eva;250.000;5;20.000"])
    done = await ingest.upload("retail-cl", csv_file.encode())
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 2, 1), done
    rejected = (await ingest.http.get(f"/v1/portfolios/{done['id']}/rejections")).json()["items"]
    assert [(r["row"], r["code"], r["message"]) for r in rejected] == [
        (2, "invalid_balance", "the balance is written with decimals that are not 0, and CLP has none; "
                               "amounts in CLP are whole")]
    assert await ingest.issues(done, "warnings") == [(3, "last_payment_amount", "invalid_last_payment_amount")]
    book = workbook([["Obligación", "Documento", "Nombre", "Saldo", "Mora", "Monto Original"],
                     ["X-1", "44444444-4", "Sol", 1190.47619047619, 5, 2000000.5]])
    done = await ingest.upload("retail-cl", book, "cartera.xlsx")
    assert (done["status"], done["rows_accepted"]) == ("completed", 1), done
    placed = {e["account_ref"]: e for e in await ingest.events("account.placed")}
    assert {ref: (e["balance"], e["last_payment_amount"]) for ref, e in placed.items() if ref.startswith("C-")} == {
        "C-2": ("1500.00", None), "C-3": ("250000", "20000")}
    assert (placed["X-1"]["balance"], placed["X-1"]["original_amount"]) == ("1190", "2000001")


async def test_several_phones_in_one_cell_are_each_kept(ingest: Ingest) -> None:
    content = "\n".join(["Obligación;Cédula;Nombre;Saldo;Mora;Celular;Teléfono 2",
                         "A-1;1;Ana;1.000;5;3001234567 / 3109876543;", "A-2;2;Luis;1.000;5;300 123 4567, 310 987 6543;",
                         "A-3;3;Eva;1.000;5;3001234567-3109876543;", "A-4;4;Sol;1.000;5;3001234567 / 123;3201112233"])
    done = await ingest.upload("banco", content.encode())
    assert (done["status"], done["rows_accepted"], done["rows_with_warnings"]) == ("completed", 4, 1), done
    assert await ingest.issues(done, "warnings") == [(5, "phones", "invalid_phone")]  # the 123 alone
    placed = {e["account_ref"]: e["phones"] for e in await ingest.events("account.placed")}
    assert placed == {"A-1": ["+573001234567", "+573109876543"], "A-2": ["+573001234567", "+573109876543"],
                      "A-3": ["+573001234567", "+573109876543"], "A-4": ["+573001234567", "+573201112233"]}


async def test_excels_unicode_text_export_is_uploaded_and_read(ingest: Ingest) -> None:
    # Excel's "Texto Unicode (*.txt)": UTF-16 little-endian with its byte-order mark, tab-separated, CRLF; and
    # big-endian with its mark. Each over a MiB, so the worker reads it in more than one chunk.
    for codec, bom, prefix in (("utf-16-le", codecs.BOM_UTF16_LE, "L"), ("utf-16-be", codecs.BOM_UTF16_BE, "B")):
        note = "llamar después de las 6 pm; prefiere WhatsApp; " * 2
        lines = ["Obligación\tCédula\tNombre\tSaldo\tMora\tObservación",
                 *[f"{prefix}-{i}\t{i}\tMuñoz Peña\t1.500,50\t5\t{note}" for i in range(4_500)]]
        content = bom + "\r\n".join(lines).encode(codec)
        assert len(content) > 1024 * 1024
        done = await ingest.upload("banco", content, "cartera.txt")
        assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 4_500, 0), done
    placed = {e["account_ref"]: e for e in await ingest.events("account.placed")}
    assert len(placed) == 9_000
    assert (placed["L-4499"]["full_name"], placed["B-0"]["full_name"], placed["B-0"]["balance"]) == (
        "Muñoz Peña", "Muñoz Peña", "1500.50")


async def test_a_json_line_that_is_no_object_is_rejected_as_such_with_its_text(ingest: Ingest) -> None:
    # Row 3 has a comma too many at its end (malformed JSON), row 4 is an array: neither has a field to read. They
    # were rejected 'the account reference is blank' with every raw cell empty, the line itself lost.
    bad = '{"obligacion": "J-2", "cedula": "4", "nombre": "Sol", "saldo": "1.000", "mora": 5,}'
    content = "\n".join(['{"obligacion": "J-1", "cedula": "3", "nombre": "Eva", "saldo": "1.000", "mora": 5}', bad,
                         '["J-3", "5", "Ana", "1.000", 5]']).encode()
    done = await ingest.upload("banco", content, "cartera.jsonl")
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 1, 2), done
    rejected = (await ingest.http.get(f"/v1/portfolios/{done['id']}/rejections")).json()["items"]
    assert [(r["row"], r["field"], r["code"], r["message"]) for r in rejected] == [
        (row, "line", "malformed_json_line", "the line is not a JSON object; none of its fields can be read")
        for row in (3, 4)]
    assert [r["raw"] for r in rejected] == [{"line": bad}, {"line": '["J-3", "5", "Ana", "1.000", 5]'}]
