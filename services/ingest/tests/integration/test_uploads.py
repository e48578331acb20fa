"""Ingest through its real HTTP API and a real PostgreSQL: every format, encoding, number and date form,
every rejection and warning code, XLSX serial dates, mapping, idempotency, updates, recalls, limits, and
an upload that resumes after a worker crash."""

import asyncio
import datetime as dt
import io
import json
import uuid
import zipfile
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import xlsxwriter
from sqlalchemy import text

from ingest import handlers
from recaudo_common.db import is_transient
from recaudo_common.people import UserStore
from recaudo_common.personal_data.blind_index import blind_index
from recaudo_common.sessions import SessionRules

from .conftest import NOW, Ingest

pytestmark = pytest.mark.integration


CODES_CSV = "\n".join([
    "Obligación;Cédula;Nombre;Saldo;Fecha Vencimiento;Días Mora;Moneda;Celular;Correo",
    "A-01;101;Ana;1.500.000;;15;;300 123 4567;ana@correo.co",       # 2 accepted
    ";102;Luis;1.000;;5;;;",                                         # 3 missing_account_ref
    "A-03;;Luis;1.000;;5;;;",                                        # 4 missing_debtor_id
    "A-04;104;;1.000;;5;;;",                                         # 5 missing_name
    "A-05;105;Eva;1000.50;;5;;;",                                    # 6 invalid_balance (not es-CO)
    "A-06;106;Eva;0;;5;;;",                                          # 7 invalid_balance (<= 0)
    "A-07;107;Eva;1.000;;;;;",                                       # 8 missing_mora
    "A-08;108;Eva;1.000;31/02/2026;;;;",                             # 9 invalid_due_date
    "A-09;109;Eva;1.000;;-400;;;",                                   # 10 invalid_days_past_due
    "A-10;110;Eva;1.000;;5;USD;;",                                   # 11 invalid_currency
    "A-01;101;Ana;2.000;;15;;;",                                     # 12 duplicate_account_ref
    "A-13;113;Eva;1.000;01/03/2026;10;COP;123;no-es-correo",         # 13 warnings: mora_mismatch, phone, email
    "",                                                              # 14 blank line: counted as a row, not a record
    ";;;;;;;;",                                                      # 15 all-empty: skipped
    "A-16;116;\"Eva\nMaría\";$ 2.000,50;2026-03-01;;;;",             # 16 quoted newline, ISO date, currency sign
]) + "\n"


async def test_every_rejection_and_warning_code_with_sheet_row_numbers(ingest: Ingest) -> None:
    done = await ingest.upload("banco", CODES_CSV.encode("cp1252"))
    assert done["status"] == "completed", done
    assert (done["rows_total"], done["rows_accepted"], done["rows_rejected"], done["rows_with_warnings"]) == \
        (13, 3, 10, 1)
    assert await ingest.issues(done) == [
        (3, "account_ref", "missing_account_ref"), (4, "debtor_id", "missing_debtor_id"),
        (5, "full_name", "missing_name"),
        (6, "balance", "invalid_balance"), (7, "balance", "invalid_balance"), (8, "due_date", "missing_mora"),
        (9, "due_date", "invalid_due_date"), (10, "days_past_due", "invalid_days_past_due"),
        (11, "currency", "invalid_currency"), (12, "account_ref", "duplicate_account_ref")]
    assert sorted(await ingest.issues(done, "warnings")) == [
        (13, "days_past_due", "mora_mismatch"), (13, "email", "invalid_email"), (13, "phones", "invalid_phone")]
    placed = {e["account_ref"]: e for e in await ingest.events("account.placed")}
    assert placed["A-01"]["phones"] == ["+573001234567"] and placed["A-01"]["balance"] == "1500000"
    assert placed["A-13"]["days_past_due"] == 30 and placed["A-13"]["phones"] == [] and placed["A-13"]["email"] is None
    assert placed["A-16"]["full_name"] == "Eva\nMaría" and placed["A-16"]["balance"] == "2000.50"
    exported = (await ingest.http.get(f"/v1/portfolios/{done['id']}/rejections?format=csv")).content.decode("utf-8-sig")
    assert "fila;campo;código;significado;detalle" in exported.splitlines()[0] and "1000.50" in exported  # es-CO
    # The rejected rows carry debtors' data: an agent (who works the agent desk) and an SRE may not read them.
    _, sre_key = await ingest.platform.keys.create(role="sre", now=NOW)
    agent = await UserStore(ingest.platform.db).create(email="pablo@agencia.co", role="agent", client_slug=None,
                                                       password_hash=None, totp_secret=None, by="test", now=NOW)
    session = await ingest.platform.auth.sessions.open(user_id=agent.id, by="password", now=NOW, rules=SessionRules(
        dt.timedelta(hours=12), dt.timedelta(minutes=30)))
    for who in ({"Authorization": f"Bearer {sre_key}"}, {"Cookie": f"recaudo_session={session}"}):
        for part in ("", "/rejections", "/warnings", "/rejections?format=csv"):
            asked = ingest.http.build_request("GET", f"/v1/portfolios/{done['id']}{part}", headers=who)
            if "Cookie" in who:
                del asked.headers["Authorization"]  # the client's operator key: the person's session alone
            refused = await ingest.http.send(asked)
            assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), (who, part)


@pytest.mark.parametrize(("client", "delimiter", "encoding", "rows"), [
    ("telco", ",", "utf-8", ["A-1,1,Ana,\"1,234,567.89\",5/3/2026", "A-2,2,Luis,1234.5,05-03-2026"]),
    ("telco", "\t", "utf-8-sig", ["A-1\t1\tAna\t1,234,567.89\t2026-03-05", "A-2\t2\tLuis\t1234.5\t05/03/2026"]),
    ("banco", "|", "cp1252", ["A-1|1|Ñoño|1.234.567,89|5/3/2026", "A-2|2|José|1234,5|05-03-2026"]),
    ("banco", ";", "latin-1", ["A-1;1;Ñoño;$ 1.234.567,89;5/3/2026", "A-2;2;José;1.234,5;05/03/2026"]),
])
async def test_delimiters_encodings_numbers_and_dates(ingest: Ingest, client: str, delimiter: str, encoding: str,
                                                      rows: list[str]) -> None:
    header = delimiter.join(["Cuenta", "Documento", "Nombre Completo", "Saldo Total", "Fecha Vencimiento"])
    done = await ingest.upload(client, "\r\n".join([header, *rows]).encode(encoding))
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 2, 0), done
    placed = await ingest.events("account.placed")
    assert [Decimal(e["balance"]) for e in placed] == [Decimal("1234567.89"), Decimal("1234.5")]
    assert {e["due_date"] for e in placed} == {"2026-03-05"}
    assert placed[0]["days_past_due"] == 26  # as of 2026-03-31


def workbook(rows: list[list[Any]], sheet: str = "Cartera", extra_sheet: bool = False,
             date1904: bool = False) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "date_1904": date1904})
    if extra_sheet:
        book.add_worksheet("Instrucciones").write(0, 0, "Lea esto primero")
    ws = book.add_worksheet(sheet)
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            if isinstance(value, dt.date):
                ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
            elif value is not None:
                ws.write(r, c, value)
    book.close()
    return buffer.getvalue()


async def test_xlsx_with_serial_dates_numeric_ids_and_a_chosen_sheet(ingest: Ingest) -> None:
    content = workbook([
        ["Número Obligación", "Cédula", "Nombre", "Saldo", "Vencimiento", "Teléfono"],
        ["A-1", 1020304050, "Ana", 1500000.5, dt.date(2026, 3, 1), 3001234567],
        ["A-2", 1020304051, "Luis", "1.234,50", 46082, None],  # a date left as its serial number: 2026-03-01
        [None, None, None, None, None, None],
        ["A-3", "0123", "Eva", -5, 46082, None],
    ], extra_sheet=True)
    missing = await ingest.upload("banco", content, "cartera.xlsx")
    assert (missing["status"], missing["error_code"]) == ("failed", "missing_required_columns")  # the first sheet
    done = await ingest.upload("banco", content, "cartera.xlsx", sheet="Cartera")
    assert (done["status"], done["rows_total"], done["rows_accepted"]) == ("completed", 3, 2), done
    assert await ingest.issues(done) == [(5, "balance", "invalid_balance")]
    placed = await ingest.events("account.placed")
    assert [(e["debtor_id"], e["balance"], e["due_date"]) for e in placed] == [
        ("1020304050", "1500000.5", "2026-03-01"), ("1020304051", "1234.50", "2026-03-01")]
    assert placed[0]["phones"] == ["+573001234567"]
    absent = await ingest.upload("banco", content, "cartera.xlsx", sheet="Hoja9")
    assert absent["error_code"] == "sheet_not_found"


async def test_a_workbooks_balance_is_kept_to_the_cent_and_one_that_is_none_there_rejected(ingest: Ingest) -> None:
    # Computed cells: 1000 * 1.19047619047619 (Excel shows 1.190,48) and the residue of subtracting two balances
    # that were equal (Excel shows 0,00). Every service keeps a balance to the cent.
    content = workbook([
        ["Obligación", "Cédula", "Nombre", "Saldo", "Mora"],
        ["A-1", 1020304050, "Ana", 1190.4761904761904, 5],
        ["A-2", 1020304051, "Luis", 2.9103830456733704e-11, 5],
        ["A-3", 1020304052, "Eva", "0,004", 5],
    ])
    done = await ingest.upload("banco", content, "cartera.xlsx")
    assert (done["status"], done["rows_accepted"], done["rows_rejected"]) == ("completed", 1, 2), done
    assert await ingest.issues(done) == [(3, "balance", "invalid_balance"), (4, "balance", "invalid_balance")]
    assert [e["balance"] for e in await ingest.events("account.placed")] == ["1190.48"]


async def test_xlsx_saved_in_the_1904_date_system(ingest: Ingest) -> None:
    # Older Mac Excel's workbooks count days from 1904: 2026-03-01 is serial 44620 there (46082 in the 1900 system).
    content = workbook([
        ["Obligación", "Cédula", "Nombre", "Saldo", "Vencimiento", "Fecha último pago"],
        ["A-1", 1020304050, "Ana", 1500, dt.date(2026, 3, 1), None],
        ["A-2", 1020304051, "Luis", 1500, 44620, 44610],  # General format: the serials this workbook means
    ], date1904=True)
    done = await ingest.upload("banco", content, "cartera.xlsx")
    assert (done["status"], done["rows_accepted"]) == ("completed", 2), done
    placed = await ingest.events("account.placed")
    assert [(e["due_date"], e["days_past_due"]) for e in placed] == [("2026-03-01", 30), ("2026-03-01", 30)]
    assert placed[1]["last_payment_date"] == "2026-02-19"


async def test_json_lines(ingest: Ingest) -> None:
    lines = [{"account_ref": "J-1", "debtor_id": 77, "full_name": "Ana", "balance": 1500.25, "days_past_due": 3,
              "canales": ["sms", "whatsapp"]}, {}, {"account_ref": "J-2", "debtor_id": "78", "full_name": "Luis",
                                                   "balance": "1.000,00", "days_past_due": "x"}]
    content = "\n".join(json.dumps(x) for x in lines).encode()
    done = await ingest.upload("banco", content, "cartera.jsonl")
    assert (done["rows_accepted"], done["rows_rejected"]) == (1, 1)
    placed = (await ingest.events("account.placed"))[0]
    assert (placed["balance"], placed["authorised_channels"]) == ("1500.25", ["sms", "whatsapp"])


async def test_mapping_ambiguity_profiles_and_missing_columns(ingest: Ingest) -> None:
    content = b"Obligacion;Cedula;Nombre;Saldo Capital;Saldo Total;Mora;Sucursal\nA-1;1;Ana;900;1.000;5;Norte\n"
    ambiguous = await ingest.upload("banco", content)
    assert (ambiguous["status"], ambiguous["error_code"]) == ("failed", "ambiguous_mapping")
    assert ambiguous["error_detail"]["ambiguous"] == {"balance": ["Saldo Capital", "Saldo Total"]}
    put = await ingest.http.put("/v1/clients/banco/mappings/core", json={"mapping": {"balance": "Saldo Total"}})
    assert put.status_code == 200
    assert (await ingest.http.get("/v1/clients/banco/mappings/core")).json()["mapping"] == {"balance": "Saldo Total"}
    done = await ingest.upload("banco", content, mapping_profile="core")
    assert done["status"] == "completed" and done["rows_accepted"] == 1
    placed = (await ingest.events("account.placed"))[0]
    assert placed["balance"] == "1000" and "extra" not in placed  # free text: it stays in ingest (#19)
    async with ingest.platform.db.transaction() as s:
        stated = await s.scalar(text("SELECT stated FROM ingest.accounts WHERE client_slug = 'banco'"
                                     " AND account_ref = 'A-1'"))
    assert stated["extra"] == {"Saldo Capital": "900", "Sucursal": "Norte"}
    unknown = await ingest.http.post("/v1/clients/banco/portfolios", files={"file": ("x.csv", content)},
                                     data={"mapping_profile": "nope"})
    assert unknown.json()["code"] == "unknown_mapping_profile"
    missing = await ingest.upload("banco", b"Cuenta,Nombre\nA-1,Ana\n")
    assert missing["error_code"] == "missing_required_columns"
    assert missing["error_detail"]["missing"] == ["debtor_id", "balance", "due_date or days_past_due"]
    assert missing["error_detail"]["headers"] == ["Cuenta", "Nombre"]


async def test_same_bytes_again_then_an_update_then_a_recall(ingest: Ingest) -> None:
    first_file = b"Cuenta;Cedula;Nombre;Saldo;Mora\nA-1;1;Ana;1.000;5\nA-2;2;Luis;2.000;40\nA-3;3;Eva;3.000;90\n"
    first = await ingest.upload("banco", first_file)
    again = await ingest.upload("banco", first_file, expect=200)
    assert again["id"] == first["id"]
    other_params = await ingest.upload("banco", first_file, as_of="2026-03-30")
    assert other_params["id"] != first["id"]  # other parameters: a new upload (here, a restatement)
    update = await ingest.upload("banco", b"Cuenta;Cedula;Nombre;Saldo;Mora\nA-1;1;Ana;800;6\n")
    assert update["rows_accepted"] == 1
    updated = [e for e in await ingest.events("account.updated") if e["portfolio_id"] == update["id"]]
    assert [(e["account_ref"], e["balance"], e["previous_balance"], e["days_past_due"]) for e in updated] == [
        ("A-1", "800", "1000.00", 6)]
    placement = (await ingest.http.get("/v1/clients/banco/placements/A-1")).json()
    assert (placement["balance"], placement["status"]) == ("800.00", "active")

    recalled = (await ingest.http.post("/v1/clients/banco/recalls", json={
        "account_refs": ["A-2", "NO-EXISTE"], "reason": "venta de cartera"})).json()
    assert (recalled["accounts_recalled"], recalled["unknown_account_refs"]) == (1, ["NO-EXISTE"])
    by_file = await ingest.http.post("/v1/clients/banco/recalls/file", data={"reason": "retiro del cliente"},
                                     files={"file": ("r.csv", b"Obligacion\nA-3\nA-2\n")})
    assert (by_file.json()["accounts_recalled"], by_file.json()["already_recalled"]) == (1, 1)
    assert [(e["account_ref"], e["reason"]) for e in await ingest.events("account.recalled")] == [
        ("A-2", None), ("A-3", None)]  # the reasons stay with the recalls (test_recall_files)
    # Past its cap (the gate leaves the form room beyond it), the file itself is refused, and says so.
    too_big = await ingest.http.post("/v1/clients/banco/recalls/file",
                                     files={"file": ("r.csv", b"Obligacion\n" + b"A-9\n" * (4 * 1024**2))})
    assert (too_big.status_code, too_big.json()["code"]) == (413, "file_too_large")
    assert (await ingest.http.get("/v1/clients/banco/placements/A-2")).json()["status"] == "recalled"


async def test_limits_and_zip_bombs(ingest: Ingest) -> None:
    too_big = await ingest.upload("banco", b"x" * 2_000_001, expect=413)  # counted while streamed
    assert too_big["code"] == "file_too_large"
    # Past the cap and the form's 1 MiB of room, refused from its Content-Length (the gate's rule for uploads).
    declared = await ingest.upload("banco", b"x" * (2_000_000 + 1024**2 + 1), expect=413)
    assert declared["code"] == "payload_too_large"
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 60_000_000)
    refused = await ingest.upload("banco", bomb.getvalue(), "cartera.xlsx")
    assert (refused["status"], refused["error_code"]) == ("failed", "xlsx_too_large")
    junk = await ingest.upload("banco", b"\x00\x01\x02binary junk", "cartera.csv")
    assert junk["error_code"] == "unsupported_format"
    broken = await ingest.upload("banco", b"PK\x03\x04truncated", "cartera.xlsx")
    assert broken["error_code"] == "invalid_xlsx"


async def test_an_upload_resumes_after_a_worker_crash_without_duplicates(ingest: Ingest,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["Cuenta;Cedula;Nombre;Saldo;Mora"] + [f"A-{i};{i};Ana;{i}.000;5" for i in range(1, 26)] + ["A-3;3;x;1;5"]
    response = await ingest.http.post("/v1/clients/banco/portfolios",
                                      files={"file": ("c.csv", "\n".join(lines).encode())})
    portfolio_id = response.json()["id"]
    monkeypatch.setattr(handlers, "BATCH", 4)
    real_commit = handlers._commit_batch
    calls = 0

    async def crash_on_the_fourth_batch(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise ConnectionError("worker lost mid-upload")
        await real_commit(*args, **kwargs)

    monkeypatch.setattr(handlers, "_commit_batch", crash_on_the_fourth_batch)
    with pytest.raises(ConnectionError):
        await handlers.process_next_portfolio(ingest.platform.db, clock=lambda: NOW, vault=ingest.vault)
    halfway = (await ingest.http.get(f"/v1/portfolios/{portfolio_id}")).json()
    assert (halfway["status"], halfway["rows_accepted"]) == ("processing", 12)
    assert 0 < halfway["progress"] < 1
    monkeypatch.setattr(handlers, "_commit_batch", real_commit)
    assert await handlers.process_next_portfolio(ingest.platform.db, clock=lambda: NOW, vault=ingest.vault) == uuid.UUID(portfolio_id)
    done = (await ingest.http.get(f"/v1/portfolios/{portfolio_id}")).json()
    assert (done["status"], done["rows_total"], done["rows_accepted"], done["rows_rejected"]) == \
        ("completed", 26, 25, 1)
    assert await ingest.issues(done) == [(27, "account_ref", "duplicate_account_ref")]
    placed = await ingest.events("account.placed")
    assert sorted(e["account_ref"] for e in placed) == sorted(f"A-{i}" for i in range(1, 26))  # each exactly once


async def test_an_upload_in_progress_holds_no_transaction_open(ingest: Ingest, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """The worker's lease on an upload lasts as long as the upload (a million rows: minutes). Held inside an
    open transaction, it would keep PostgreSQL from vacuuming any table of the database all that time (the
    outboxes grew by 600,000 dead rows in the 1M-account pipeline run). Mid-upload, no transaction that pins old
    rows outlives a batch: a batch's own may be seen open by the batch written beside it (commit_order), never by
    the one after that."""
    lines = ["Cuenta;Cedula;Nombre;Saldo;Mora"] + [f"A-{i};{i};Ana;{i}.000;5" for i in range(1, 13)]
    response = await ingest.http.post("/v1/clients/banco/portfolios",
                                      files={"file": ("c.csv", "\n".join(lines).encode())})
    assert response.status_code == 202, response.text
    monkeypatch.setattr(handlers, "BATCH", 4)
    real_commit = handlers._commit_batch
    pinned: list[list[Any]] = []

    async def look_around_then_commit(*args: Any, **kwargs: Any) -> None:
        async with ingest.platform.db.engine.connect() as conn:
            pinned.append([tuple(r) for r in await conn.execute(text(
                "SELECT pid, xact_start FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state = 'idle in transaction' AND backend_xmin IS NOT NULL"))])
        await real_commit(*args, **kwargs)

    monkeypatch.setattr(handlers, "_commit_batch", look_around_then_commit)
    assert await handlers.process_next_portfolio(ingest.platform.db, clock=lambda: NOW, vault=ingest.vault) is not None
    assert len(pinned) == 3
    seen_open = Counter(transaction for seen in pinned for transaction in seen)
    assert [t for t, looks in seen_open.items() if looks > 1] == [], pinned
    done = (await ingest.http.get(f"/v1/portfolios/{response.json()['id']}")).json()
    assert (done["status"], done["rows_accepted"]) == ("completed", 12)


async def test_batches_written_side_by_side_share_their_debtors_and_phones(ingest: Ingest,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Two batches of an upload are written at once (commit_order). A debtor with an account in each, and a phone
    written in two batches for two debtors, meet in the vault while both transactions are open: one person each,
    the phone finds its first holder, every account placed once, the counts and progress those of the whole file."""
    monkeypatch.setattr(handlers, "BATCH", 2)
    rows = [f"S-{i};{900 + i // 3};Deudor {900 + i // 3};{i + 1}.000;5;300 555 {1000 + i // 4:04d}"
            for i in range(24)]  # id numbers in threes and phones in fours: each straddles batches of two
    portfolio = await ingest.upload("banco", ("Cuenta;Cedula;Nombre;Saldo;Mora;Celular\n" + "\n".join(rows)).encode())
    assert (portfolio["status"], portfolio["rows_total"], portfolio["rows_accepted"], portfolio["progress"]) == \
        ("completed", 24, 24, 1.0)
    placed = await ingest.events("account.placed")
    assert sorted(e["account_ref"] for e in placed) == sorted(f"S-{i}" for i in range(24))
    async with ingest.platform.db.transaction() as s:
        people = dict((await s.execute(text(
            "SELECT debtor_id, count(DISTINCT debtor_ref) FROM ingest.accounts WHERE client_slug = 'banco' "
            "GROUP BY debtor_id"))).all())
        phones = await s.scalar(text("SELECT count(*) FROM vault.lookups WHERE client_slug = 'banco' AND kind = 'phone'"))
    assert people == {str(900 + n): 1 for n in range(8)}  # one person per id number, whichever batch came first
    assert phones == 6
    # each phone finds the debtor of the first row of the file that gave it (row 4k gives phone k first)
    first_holder = {f"+57300555{1000 + k:04d}": str(900 + 4 * k // 3) for k in range(6)}
    for phone, debtor_id in first_holder.items():
        async with ingest.platform.db.transaction() as s:
            held_by = await ingest.vault.find(s, "banco", "phone", phone)
            expected = await s.scalar(text("SELECT debtor_ref FROM ingest.accounts WHERE client_slug = 'banco' "
                                           "AND debtor_id = :d LIMIT 1"), {"d": debtor_id})
        assert held_by == expected, phone


async def test_a_later_batch_never_claims_a_phone_before_the_batch_ahead_of_it(ingest: Ingest,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch written beside another (commit_order) waits for that one's vault statements before its own: had
    it claimed a shared phone first, the batch ahead would wait on its row lock while it waits for that batch's
    commit, and the upload would hang. Here the first batch is slow to index its phones, and the second shares a
    phone with it but no debtor."""
    monkeypatch.setattr(handlers, "BATCH", 2)
    real_index_many, calls = ingest.vault.index_many, 0

    async def slow_first_batch(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.5)  # the second batch is under way meanwhile
        return await real_index_many(*args, **kwargs)

    monkeypatch.setattr(ingest.vault, "index_many", slow_first_batch)
    content = "Cuenta;Cedula;Nombre;Saldo;Mora;Celular\nP-1;701;Ana;1.000;5;3005550701\nP-2;702;Eva;1.000;5;3005550702\n" \
              "P-3;703;Luis;1.000;5;3005550701\nP-4;704;Juan;1.000;5;3005550704\n"
    portfolio = await asyncio.wait_for(ingest.upload("banco", content.encode()), timeout=30)
    assert (portfolio["status"], portfolio["rows_accepted"]) == ("completed", 4)
    async with ingest.platform.db.transaction() as s:
        holder = await ingest.vault.find(s, "banco", "phone", "+573005550701")
        first = await s.scalar(text("SELECT debtor_ref FROM ingest.accounts WHERE account_ref = 'P-1'"))
    assert holder == first


async def test_a_third_transaction_caught_between_two_batches_is_let_go(ingest: Ingest,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator's transaction holds an account the first batch restates, and wants a phone the second batch has
    just claimed; the second waits for the first's commit in Python. PostgreSQL sees no cycle, so the batch's lock
    timeout breaks it: the upload stops as passing (nothing committed, the attempt not counted), the operator's
    transaction goes through, and the next start completes the upload."""
    monkeypatch.setattr(handlers, "BATCH", 2)
    monkeypatch.setattr(handlers, "BATCH_LOCK_TIMEOUT_MS", 500)
    header = "Cuenta;Cedula;Nombre;Saldo;Mora;Celular\n"
    first = await ingest.upload("banco", (header + "R-1;801;Ana;1.000;5;\nR-2;802;Eva;1.000;5;\n").encode())
    assert first["status"] == "completed"
    phone = "+573005550803"
    claimed, real_index_many = asyncio.Event(), ingest.vault.index_many

    async def noting_the_second_batch(s: Any, client: str, values: Any) -> int:
        values = list(values)
        added = await real_index_many(s, client, values)
        if any(value == phone for _, _, value in values):
            claimed.set()
        return added

    monkeypatch.setattr(ingest.vault, "index_many", noting_the_second_batch)
    answer = await ingest.http.post("/v1/clients/banco/portfolios", files={"file": ("c.csv", (
        header + "R-1;801;Ana;2.000;5;\nR-2;802;Eva;2.000;5;\nR-3;803;Luis;1.000;5;3005550803\n").encode())})
    async with ingest.platform.db.engine.connect() as operator:
        transaction = await operator.begin()
        await operator.execute(text("SELECT 1 FROM ingest.accounts WHERE client_slug = 'banco' AND account_ref = 'R-1' "
                                    "FOR UPDATE"))
        processing = asyncio.create_task(handlers.process_next_portfolio(ingest.platform.db, clock=lambda: NOW,
                                                                         vault=ingest.vault))
        await asyncio.wait_for(claimed.wait(), timeout=10)  # the first batch waits on R-1, the second holds the phone
        ana = await operator.scalar(text("SELECT debtor_ref FROM ingest.accounts WHERE account_ref = 'R-1'"))
        digest = blind_index(ingest.vault.keyring.current.blind_index_key, "banco", "phone", phone)
        await asyncio.wait_for(operator.execute(text(  # waits for the second batch, which waits for the first
            "INSERT INTO vault.lookups (client_slug, kind, digest, debtor_ref) VALUES ('banco', 'phone', :d, :r)"),
            {"d": digest, "r": ana}), timeout=20)
        await transaction.commit()
    with pytest.raises(Exception) as stopped:
        await asyncio.wait_for(processing, timeout=20)
    assert is_transient(stopped.value), stopped.value
    halfway = (await ingest.http.get(f"/v1/portfolios/{answer.json()['id']}")).json()
    assert (halfway["status"], halfway["rows_accepted"], halfway["progress"]) == ("processing", 0, 0)
    monkeypatch.setattr(ingest.vault, "index_many", real_index_many)
    assert await handlers.process_next_portfolio(ingest.platform.db, clock=lambda: NOW, vault=ingest.vault) == \
        uuid.UUID(answer.json()["id"])
    done = (await ingest.http.get(f"/v1/portfolios/{answer.json()['id']}")).json()
    assert (done["status"], done["rows_accepted"]) == ("completed", 3)
