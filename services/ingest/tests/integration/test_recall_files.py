"""Recall files as CSV, XLSX and JSON lines through ingest's real API and PostgreSQL: each names the accounts its
account column holds (an XLSX recall file was read as CSV and answered 500), and one that is no workbook is refused
with its reason."""

import pytest
from sqlalchemy import text

from .conftest import Ingest
from .test_uploads import workbook

pytestmark = pytest.mark.integration


async def test_a_workbook_or_json_lines_recall_the_accounts_they_name(ingest: Ingest) -> None:
    await ingest.upload("banco", b"Cuenta;Cedula;Nombre;Saldo;Mora\nA-1;1;Ana;1.000;5\nA-3;3;Eva;3.000;90\n")
    first = await ingest.http.post("/v1/clients/banco/recalls", json={"account_refs": ["A-3"]})
    assert first.json()["accounts_recalled"] == 1
    # A workbook names them as well (its first sheet), and so do JSON lines.
    by_workbook = await ingest.http.post("/v1/clients/banco/recalls/file", files={
        "file": ("retiros.xlsx", workbook([["Obligación", "Motivo"], ["A-1", "venta"], ["A-3", "venta"]]))})
    assert by_workbook.status_code == 200, by_workbook.text
    assert (by_workbook.json()["accounts_recalled"], by_workbook.json()["already_recalled"]) == (1, 1)
    by_lines = await ingest.http.post("/v1/clients/banco/recalls/file", files={
        "file": ("retiros.jsonl", b'{"obligacion": "A-1"}\n{"obligacion": "NO-EXISTE"}\n')})
    assert by_lines.status_code == 200, by_lines.text
    assert (by_lines.json()["already_recalled"], by_lines.json()["unknown_account_refs"]) == (1, ["NO-EXISTE"])
    not_a_workbook = await ingest.http.post("/v1/clients/banco/recalls/file", files={
        "file": ("retiros.xlsx", b"PK\x03\x04" + b"\x00" * 64)})
    assert (not_a_workbook.status_code, not_a_workbook.json()["code"]) == (422, "invalid_xlsx")
    # JSON lines whose key is no account column: the values are the accounts, the key name is none.
    unnamed = await ingest.http.post("/v1/clients/banco/recalls/file", files={
        "file": ("retiros.jsonl", b'{"x": "A-1"}\n{"x": "OTRA"}\n')})
    assert (unnamed.json()["already_recalled"], unnamed.json()["unknown_account_refs"]) == (1, ["OTRA"])


async def test_a_recalls_words_stay_with_the_recall_and_never_reach_the_account_topic(ingest: Ingest) -> None:
    # A client company's reason is free text, and may name the person: it is kept with the recall in ingest, but
    # account.recalled goes to a topic kept forever (and to its dead letters), which no erasure reaches, and no
    # service reads a recall's reason there.
    await ingest.upload("banco", b"Cuenta;Cedula;Nombre;Saldo;Mora\nA-1;1020304050;Ana Gomez;1.000;5\n")
    words = "Ana Gomez, CC 1020304050, pago directo al banco (ana.gomez@correo.co)"
    by_list = await ingest.http.post("/v1/clients/banco/recalls", json={"account_refs": ["A-1"], "reason": words})
    assert by_list.json()["accounts_recalled"] == 1
    await ingest.upload("banco", b"Cuenta;Cedula;Nombre;Saldo;Mora\nA-2;1020304050;Ana Gomez;2.000;5\n")
    by_file = await ingest.http.post("/v1/clients/banco/recalls/file", data={"reason": words},
                                     files={"file": ("r.csv", b"Obligacion\nA-2\n")})
    assert by_file.json()["accounts_recalled"] == 1
    recalled = await ingest.events("account.recalled")
    assert [e["account_ref"] for e in recalled] == ["A-1", "A-2"]
    assert [e.get("reason") for e in recalled] == [None, None]
    async with ingest.platform.db.transaction() as s:
        kept = (await s.execute(text("SELECT reason FROM ingest.recalls WHERE client_slug = 'banco'"))).scalars()
        assert list(kept) == [words, words]
