"""Portfolio files as client companies' systems and sheets write them, through ingest's real HTTP API and a real
PostgreSQL: a Windows-1252 file whose first accent comes late, Mexican mobiles written as before 2019, a header
written twice, blank lines before the header, days past due with the locale's thousands mark, Excel's separator
instruction."""

import pytest
from sqlalchemy import text

from .conftest import Ingest
from .test_uploads import workbook

pytestmark = pytest.mark.integration


async def test_a_windows_1252_file_whose_first_accent_comes_late_is_read_whole(ingest: Ingest) -> None:
    # The encoding is detected from the file's first 64 KiB; here they are all ASCII, and the first "ñ" (one byte
    # in Windows-1252, none valid in UTF-8) comes on row 3,002: the file is Windows-1252, not refused.
    rows = [f"A-{i};{i};Ana Perez;1.000;5" for i in range(3000)] + ["B-1;9;Muñoz Peña;2.000;5"]
    content = "\r\n".join(["Obligacion;Cedula;Nombre;Saldo;Mora", *rows]).encode("cp1252")
    assert len(content) > 64 * 1024 and content[:64 * 1024].isascii()
    done = await ingest.upload("banco", content)
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 3001, 0), done
    placed = {e["account_ref"]: e for e in await ingest.events("account.placed")}
    assert placed["B-1"]["full_name"] == "Muñoz Peña" and placed["B-1"]["balance"] == "2000"


async def test_a_mexican_mobile_written_as_before_2019_is_kept(ingest: Ingest) -> None:
    # +52 1 and 044 were how Mexico dialled a mobile until August 2019; the number is the ten digits after them.
    content = "\n".join(["Cuenta,Documento,Nombre,Saldo,Dias Mora,Celular,Telefono2",
                         "A-1,1,Ana,\"1,500.00\",5,+52 1 55 1234 5678,044 33 1234 5678",
                         "A-2,2,Luis,\"1,500.00\",5,5215512345679,123"]).encode()
    done = await ingest.upload("telco", content)
    assert (done["status"], done["rows_accepted"], done["rows_with_warnings"]) == ("completed", 2, 1), done
    assert await ingest.issues(done, "warnings") == [(3, "phones", "invalid_phone")]  # the 123 alone
    placed = {e["account_ref"]: e["phones"] for e in await ingest.events("account.placed")}
    assert placed == {"A-1": ["+525512345678", "+523312345678"], "A-2": ["+525512345679"]}


async def test_a_header_written_twice_loses_neither_column(ingest: Ingest) -> None:
    content = "\n".join(["Obligacion;Cedula;Nombre;Saldo;Mora;Observación;Observación",
                         "A-1;1;Ana;1.000;5;llamar tarde;no sms", "A-2;2;Luis;0;5;sin saldo;revisar"]).encode()
    done = await ingest.upload("banco", content)
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 1, 1), done
    async with ingest.platform.db.transaction() as s:
        stated = await s.scalar(text("SELECT stated FROM ingest.accounts WHERE client_slug = 'banco'"
                                     " AND account_ref = 'A-1'"))
    assert stated["extra"] == {"Observación": "llamar tarde", "Observación (column_7)": "no sms"}
    rejected = (await ingest.http.get(f"/v1/portfolios/{done['id']}/rejections")).json()["items"]
    assert {k: v for k, v in rejected[0]["raw"].items() if k.startswith("Obs")} == {
        "Observación": "sin saldo", "Observación (column_7)": "revisar"}


async def test_a_semicolon_file_whose_first_lines_are_blank_is_read(ingest: Ingest) -> None:
    # A sheet saved as CSV with its first rows empty: the blank lines before the header are skipped, its ';' found.
    content = "\r\n".join(["", "", "Obligación;Cédula;Nombre;Saldo;Mora", "A-1;1;Ana;1.500,50;5", ""]).encode("cp1252")
    done = await ingest.upload("banco", content)
    assert (done["status"], done["rows_accepted"]) == ("completed", 1), done
    assert [e["balance"] for e in await ingest.events("account.placed")] == ["1500.50"]


async def test_a_rejection_names_the_row_a_spreadsheet_shows_when_the_first_rows_are_empty(ingest: Ingest) -> None:
    # The sheet's header is on its row 3, under two empty rows, whether saved as CSV or kept as a workbook: its second
    # record, refused, is on row 5, where the client company's person will look for it.
    lines = [["Obligación", "Cédula", "Nombre", "Saldo", "Mora"], ["A-1", "1", "Ana", "1.500", "5"],
             ["A-2", "2", "Luis", "no es saldo", "5"]]
    csv_file = "\r\n".join(["", ";;;;", *(";".join(line) for line in lines), ""]).encode()
    assert await ingest.issues(await ingest.upload("banco", csv_file)) == [(5, "balance", "invalid_balance")]
    book = workbook([[], [], *[[f"X{cell}" if cell.startswith("A-") else cell for cell in line] for line in lines]])
    assert await ingest.issues(await ingest.upload("banco", book, "cartera.xlsx")) == [
        (5, "balance", "invalid_balance")]


async def test_days_past_due_in_thousands_are_read_grouped_as_the_locale_groups(ingest: Ingest) -> None:
    # A portfolio sold years overdue, saved from a sheet whose columns show thousands marks.
    banco = "\n".join(["Obligación;Cédula;Nombre;Saldo;Días Mora", "A-1;1;Ana;1.500.000;1.200",
                       "A-2;2;Luis;1.500.000;1,200"]).encode()
    done = await ingest.upload("banco", banco)
    assert (done["status"], done["rows_accepted"]) == ("completed", 1), done
    assert await ingest.issues(done) == [(3, "days_past_due", "invalid_days_past_due")]  # 1,2 days in es-CO
    telco = "\n".join(["Cuenta,Documento,Nombre,Saldo,Dias Mora", 'B-1,1,Ana,"1,500.00","1,200"']).encode()
    assert (await ingest.upload("telco", telco))["rows_accepted"] == 1
    assert [e["days_past_due"] for e in await ingest.events("account.placed")] == [1200, 1200]


async def test_a_file_that_names_its_separator_for_excel_is_read(ingest: Ingest) -> None:
    # A system that writes CSV for Excel puts 'sep=;' on its first line, so that Excel opens it in columns whatever
    # the computer's regional settings: Excel reads the line as that instruction and shows no row for it.
    content = "\r\n".join(["sep=;", "Obligación;Cédula;Nombre;Saldo;Mora", "A-1;1;Ana;1.500,50;5",
                            "A-2;2;Luis;no es saldo;5", ""]).encode()
    done = await ingest.upload("banco", content)
    assert (done["status"], done["rows_accepted"]) == ("completed", 1), done
    assert await ingest.issues(done) == [(3, "balance", "invalid_balance")]
    quoted = '"sep=,"\nObligación,Cédula,Nombre,Saldo,Mora\nB-1,3,Eva,"2.000,50",5\n'.encode()
    done = await ingest.upload("banco", quoted)
    assert (done["status"], done["rows_accepted"]) == ("completed", 1), done
    assert [e["balance"] for e in await ingest.events("account.placed")] == ["1500.50", "2000.50"]
