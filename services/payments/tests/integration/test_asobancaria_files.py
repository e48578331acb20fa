"""Asobancaria 2001 recaudo files through the real bank-files route and PostgreSQL: told from a CSV statement by their
first line, each payment applied once (a re-import applies nothing), an unknown reference to the suspense queue as
the CSV import does, an all-digit reference matched to the one account equal to it once both lose their leading
zeros (never guessed when two are), and a file whose control totals disagree refused whole, its reason read again
later."""

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from payments.settings import PaymentsSettings
from recaudo_common.testing import plan_of, statements_run

from .conftest import READ_AT, Gateway, deliver, gateway_at, placed

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(database_url: str, payments_settings: PaymentsSettings) -> AsyncIterator[Gateway]:
    """The files below are read after the days they say were paid (a line dated after its reading is refused)."""
    async with gateway_at(database_url, payments_settings, lambda: READ_AT) as opened:
        yield opened


WIDTH = 162


def line(text_: str) -> str:
    assert len(text_) <= WIDTH
    return text_.ljust(WIDTH)


def recaudo(lots: list[list[tuple[str, int]]], *, modifier: str = "A", lot_totals: dict[int, int] | None = None,
            ending: str = "\r\n") -> bytes:
    """An Asobancaria 2001 recaudo file (layout in payments/domain/asobancaria.py) of these lots of (reference,
    cents) details, collected on 2026-04-05 by bank 007; `lot_totals` overrides what a lot control says."""
    lines = [line("01" + "9001234567" + "20260405" + "007" + "00000000400702127" + "20260406" + "0213" + modifier
                  + "01")]
    sequence = 1
    for number, details in enumerate(lots, start=1):
        lines.append(line("05" + "7709998888487" + f"{number:04d}"))
        for reference, cents in details:
            sequence += 1
            ref = reference.rjust(48, "0") if reference.isdigit() else reference.ljust(48)
            lines.append(line("06" + ref + f"{cents:014d}" + "01" + "01" + "000000" + "000000" + "040" + "9779"
                              + f"{sequence:07d}" + "000"))
        total = (lot_totals or {}).get(number, sum(c for _, c in details))
        lines.append(line("08" + f"{len(details):09d}" + f"{total:018d}" + f"{number:04d}"))
    lines.append(line("09" + f"{sum(map(len, lots)):09d}" + f"{sum(c for lot in lots for _, c in lot):018d}"))
    return (ending.join(lines) + ending).encode("ascii")


async def upload(gateway: Gateway, content: bytes, name: str = "RECAUDO0405.TXT",
                 **form: str) -> httpx.Response:
    return await gateway.http.post("/v1/clients/banco/payments/files", files={"file": (name, content)}, data=form,
                                   headers=gateway.as_operator())


async def applied_payments(gateway: Gateway) -> list[tuple[Any, ...]]:
    async with gateway.platform.db.transaction() as s:
        return [tuple(r) for r in await s.execute(text(
            "SELECT account_ref, amount, status, method, external_id FROM payments.payments "
            "WHERE source = 'bank_file' ORDER BY external_id"))]


async def test_an_asobancaria_file_applies_each_payment_once(gateway: Gateway) -> None:
    await deliver(gateway.platform, await placed(gateway.platform, "1055909", debtor_id="109"))
    content = recaudo([[("1055909", 1_800_000), ("A-1", 1_000_050)], [("A-2", 500_000), ("999888", 123_400)]])
    first = await upload(gateway, content)
    assert first.status_code == 201, first.text
    body = first.json()
    assert first.headers["Location"] == f"/v1/clients/banco/payments/files/{body['id']}"
    assert (body["format"], body["status"], body["error_code"]) == ("asobancaria2001", "reconciled", None)
    assert body["counts"] == {"applied": 3, "unmatched": 1, "duplicate": 0, "rejected": 0}
    assert [{k: v for k, v in r.items() if k != "payment_id"} for r in body["results"]] == [
        {"row": 3, "status": "applied", "reference": "1055909", "amount": "18000.00"},
        {"row": 4, "status": "applied", "reference": "A-1", "amount": "10000.50"},
        {"row": 7, "status": "applied", "reference": "A-2", "amount": "5000.00"},
        {"row": 8, "status": "unmatched", "reference": "999888", "amount": "1234.00", "reason": "unknown_account_ref"}]
    assert (await gateway.balance("1055909"))[0] == Decimal("82000.00")
    assert await gateway.balance("A-1") == (Decimal("89999.50"), "open", Decimal("89999.50"))
    assert (await gateway.balance("A-2"))[0] == Decimal("95000.00")

    # The unknown reference waits in the suspense queue, with the bank file it came in and its reference.
    queue = (await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=gateway.as_operator())).json()
    waiting = [p for p in queue["items"] if p["reference"] == "999888"]
    assert len(waiting) == 1
    assert (waiting[0]["amount"], waiting[0]["source"], waiting[0]["gateway"], waiting[0]["reason"]) == (
        "1234.00", "bank_file", "bank_file:banco", "unknown_account_ref")
    # Paid on the file's collection date, at noon in the client company's zone (Bogotá, UTC-5).
    assert waiting[0]["paid_at"] in ("2026-04-05T17:00:00Z", "2026-04-05T17:00:00+00:00")
    booked = await applied_payments(gateway)

    # The same file again: its first results, nothing applied.
    again = await upload(gateway, content)
    assert (again.status_code, again.json()) == (200, body)
    # The same payments in another file's bytes (LF line endings, an explicit format): each a duplicate.
    same = await upload(gateway, recaudo([[("1055909", 1_800_000), ("A-1", 1_000_050)],
                                          [("A-2", 500_000), ("999888", 123_400)]], ending="\n"),
                        format="asobancaria2001")
    assert same.status_code == 201, same.text
    assert same.json()["counts"] == {"applied": 0, "unmatched": 0, "duplicate": 4, "rejected": 0}
    assert await applied_payments(gateway) == booked
    assert await gateway.balance("A-1") == (Decimal("89999.50"), "open", Decimal("89999.50"))
    assert {(r[3]) for r in booked} == {"bank_collection"}

    # The bank's second file of the day (modifier B) is other payments.
    later = await upload(gateway, recaudo([[("A-1", 200_000)]], modifier="B"), name="RECAUDO0405B.TXT")
    assert later.json()["counts"] == {"applied": 1, "unmatched": 0, "duplicate": 0, "rejected": 0}
    assert (await gateway.balance("A-1"))[0] == Decimal("87999.50")


async def booked_to(gateway: Gateway, reference: str) -> list[tuple[Any, ...]]:
    """The bank-file payments of this reference: the account each was applied to (none: in suspense), the account
    it named, its status and why it is in suspense."""
    async with gateway.platform.db.transaction() as s:
        return [tuple(r) for r in await s.execute(text(
            "SELECT account_ref, claimed_account_ref, status, unmatched_reason FROM payments.payments "
            "WHERE source = 'bank_file' AND reference = :r ORDER BY received_at, id"), {"r": reference})]


async def test_an_account_whose_reference_begins_with_zeros_gets_its_zero_filled_payment(gateway: Gateway) -> None:
    """The bank fills 0012345 to 48 digits like any other number; the reader drops the fill, and with it the
    account's own zeros: the line says 12345, and 0012345 is the only account it can be."""
    await deliver(gateway.platform, await placed(gateway.platform, "0012345", debtor_id="301"))
    uploaded = await upload(gateway, recaudo([[("0012345", 1_800_000)]]))
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert body["counts"] == {"applied": 1, "unmatched": 0, "duplicate": 0, "rejected": 0}
    # The reference is what the bank sent (without its fill); the payment is the account's.
    assert [{k: v for k, v in r.items() if k != "payment_id"} for r in body["results"]] == [
        {"row": 3, "status": "applied", "reference": "12345", "amount": "18000.00"}]
    assert await booked_to(gateway, "12345") == [("0012345", "0012345", "applied", None)]
    assert await gateway.balance("0012345") == (Decimal("82000.00"), "open", Decimal("82000.00"))


async def test_a_zero_filled_reference_two_accounts_match_is_guessed_onto_neither(gateway: Gateway) -> None:
    """12345 and 0012345 both arrive as 000...0012345: which one the bank meant cannot be known, so the payment
    waits in suspense for an operator, even though 12345 is equal to what the line says."""
    await deliver(gateway.platform, await placed(gateway.platform, "12345", debtor_id="302"),
                  await placed(gateway.platform, "0012345", debtor_id="303"))
    body = (await upload(gateway, recaudo([[("12345", 1_800_000)]]))).json()
    assert body["counts"] == {"applied": 0, "unmatched": 1, "duplicate": 0, "rejected": 0}
    assert body["results"][0]["reason"] == "ambiguous_account_ref"
    assert await booked_to(gateway, "12345") == [(None, None, "unmatched", "ambiguous_account_ref")]
    assert (await gateway.balance("12345"))[0] == Decimal("100000.00")
    assert (await gateway.balance("0012345"))[0] == Decimal("100000.00")
    queue = (await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=gateway.as_operator())).json()
    [waiting] = [p for p in queue["items"] if p["reference"] == "12345"]
    assert (waiting["amount"], waiting["account_ref_given"], waiting["reason"]) == (
        "18000.00", None, "ambiguous_account_ref")
    # An operator, who can ask the client company, assigns it.
    assigned = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{waiting['id']}/assign",
                                       json={"account_ref": "0012345"}, headers=gateway.as_operator())
    assert assigned.json()["status"] == "applied", assigned.text
    assert (await gateway.balance("0012345"))[0] == Decimal("82000.00")
    assert (await gateway.balance("12345"))[0] == Decimal("100000.00")


async def test_an_all_digit_reference_without_zeros_still_finds_its_account(gateway: Gateway) -> None:
    """The account 12345 gets 000...0012345 as before, whatever another client company's accounts are (its own
    0012345 makes nothing ambiguous here)."""
    await deliver(gateway.platform, await placed(gateway.platform, "12345", debtor_id="304"))
    async with gateway.platform.db.transaction() as s:
        await s.execute(text(
            "INSERT INTO payments.accounts (client_slug, account_ref, currency, balance, updated_at) "
            "VALUES ('otro', '0012345', 'COP', 100000, now())"))
    body = (await upload(gateway, recaudo([[("12345", 1_800_000)]]))).json()
    assert body["counts"] == {"applied": 1, "unmatched": 0, "duplicate": 0, "rejected": 0}
    assert await booked_to(gateway, "12345") == [("12345", "12345", "applied", None)]
    assert (await gateway.balance("12345"))[0] == Decimal("82000.00")


async def test_a_zero_filled_payment_waiting_for_its_account_takes_it_when_it_is_placed(gateway: Gateway) -> None:
    """The bank file comes before the portfolio: 12345's payment waits in suspense, and the placement of 0012345 (the
    only account its digits can be) takes it, as the file would have had the account been there."""
    assert (await upload(gateway, recaudo([[("12345", 1_800_000)]]))).json()["counts"]["unmatched"] == 1
    await deliver(gateway.platform, await placed(gateway.platform, "0012345", debtor_id="311"))
    assert await booked_to(gateway, "12345") == [("0012345", "12345", "applied", "unknown_account_ref")]
    assert await gateway.balance("0012345") == (Decimal("82000.00"), "open", Decimal("82000.00"))


async def test_a_zero_filled_payment_two_accounts_placed_together_can_be_waits_for_an_operator(
        gateway: Gateway) -> None:
    assert (await upload(gateway, recaudo([[("12345", 1_800_000)]]))).json()["counts"]["unmatched"] == 1
    await deliver(gateway.platform, await placed(gateway.platform, "12345", debtor_id="312"),
                  await placed(gateway.platform, "0012345", debtor_id="313"))
    assert await booked_to(gateway, "12345") == [(None, "12345", "unmatched", "unknown_account_ref")]
    assert (await gateway.balance("12345"))[0] == (await gateway.balance("0012345"))[0] == Decimal("100000.00")


async def test_a_csv_payment_waiting_for_12345_is_not_taken_by_0012345(gateway: Gateway) -> None:
    statement = b"Fecha;Referencia;Valor;Comprobante\n05/04/2026;12345;100,00;TX-9\n"
    assert (await upload(gateway, statement, name="extracto.csv")).json()["counts"]["unmatched"] == 1
    await deliver(gateway.platform, await placed(gateway.platform, "0012345", debtor_id="314"))
    assert await booked_to(gateway, "12345") == [(None, "12345", "unmatched", "unknown_account_ref")]


async def test_a_csv_statements_reference_is_matched_as_the_bank_wrote_it(gateway: Gateway) -> None:
    """A CSV statement drops no zero-fill: 12345 there is account 12345 only, even beside 0012345, and names no
    0012345 alone."""
    await deliver(gateway.platform, await placed(gateway.platform, "12345", debtor_id="305"),
                  await placed(gateway.platform, "0012345", debtor_id="306"),
                  await placed(gateway.platform, "0067890", debtor_id="307"))
    statement = b"Fecha;Referencia;Valor;Comprobante\n05/04/2026;12345;100,00;TX-1\n05/04/2026;67890;100,00;TX-2\n"
    body = (await upload(gateway, statement, name="extracto.csv")).json()
    assert [(r["reference"], r["status"], r.get("reason")) for r in body["results"]] == [
        ("12345", "applied", None), ("67890", "unmatched", "unknown_account_ref")]
    assert await booked_to(gateway, "12345") == [("12345", "12345", "applied", None)]


async def test_the_account_of_a_zero_filled_reference_is_found_by_its_index(gateway: Gateway) -> None:
    """One look-up per line of a file of thousands, in a client company of a million accounts: it must go by the
    partial index of all-digit references without their zeros (migration 0022), not read every account."""
    async with gateway.platform.db.transaction() as s:
        await s.execute(text(
            "INSERT INTO payments.accounts (client_slug, account_ref, currency, balance, updated_at) "
            "SELECT 'banco', lpad(i::text, 10, '0'), 'COP', 1000, now() FROM generate_series(1, 20000) i "
            "UNION ALL SELECT 'banco', 'T-' || i, 'COP', 1000, now() FROM generate_series(1, 5000) i"))
    with statements_run(gateway.platform.db, "ltrim(account_ref") as seen:
        body = (await upload(gateway, recaudo([[("777", 1_000)]]))).json()
    assert body["counts"]["applied"] == 1
    assert await booked_to(gateway, "777") == [("0000000777", "0000000777", "applied", None)]
    [(statement, parameters)] = seen
    shown = await plan_of(gateway.platform.db, statement, parameters)
    assert '"Index Name": "payments_accounts_digits"' in shown and '"Seq Scan"' not in shown, shown


async def test_a_file_whose_totals_disagree_is_refused_whole_and_the_reason_kept(gateway: Gateway) -> None:
    before = await applied_payments(gateway)
    content = recaudo([[("A-1", 1_000_000)], [("A-2", 500_000), ("A-1", 100_000)]], lot_totals={2: 600_001})
    refused = await upload(gateway, content)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    detail = "line 8 (lot control): lot_total says 6000.01, but its lot's details add up to 6000.00"
    assert {k: v for k, v in problem.items() if k not in ("instance", "errors")} == {
        "type": "https://recaudo.dev/problems/bank_file_totals_mismatch", "title": "Bank file refused",
        "status": 422, "code": "bank_file_totals_mismatch", "detail": detail}
    assert problem["errors"] == [{"line": 8, "field": "lot_total", "msg": detail}]
    # Nothing of it applied: not the first lot's payment, whose totals were right.
    assert await applied_payments(gateway) == before
    assert (await gateway.balance("A-1"))[0] == Decimal("100000.00")

    # The refusal is kept: read again later where the problem said, by an operator or the client company.
    kept = await gateway.http.get(problem["instance"], headers=gateway.as_operator())
    assert kept.status_code == 200, kept.text
    assert {k: v for k, v in kept.json().items() if k not in ("id", "received_at")} == {
        "filename": "RECAUDO0405.TXT", "format": "asobancaria2001", "status": "failed",
        "counts": {"applied": 0, "unmatched": 0, "duplicate": 0, "rejected": 0}, "results": [],
        "error_code": "bank_file_totals_mismatch", "error_detail": detail, "error_line": 8, "error_field": "lot_total"}
    # Sent again, refused again with the same record, still applying nothing.
    again = await upload(gateway, content)
    assert (again.status_code, again.json()["instance"], again.json()["code"]) == (
        422, problem["instance"], "bank_file_totals_mismatch")
    assert await applied_payments(gateway) == before

    # A malformed file likewise: a letter in an amount, named by line and field.
    broken = content.replace(b"00000000500000", b"0000000050000O", 1)
    malformed = (await upload(gateway, broken)).json()
    assert (malformed["code"], malformed["errors"][0]["line"], malformed["errors"][0]["field"]) == (
        "bank_file_malformed", 6, "amount")
    # The corrected file is read in full.
    fixed = await upload(gateway, recaudo([[("A-1", 1_000_000)], [("A-2", 500_000), ("A-1", 100_000)]]))
    assert fixed.json()["counts"] == {"applied": 3, "unmatched": 0, "duplicate": 0, "rejected": 0}
    assert (await gateway.balance("A-1"))[0] == Decimal("89000.00")


async def test_the_format_is_told_from_the_first_line_or_given(gateway: Gateway) -> None:
    statement = b"Fecha;Referencia;Valor;Comprobante\n05/04/2026;A-1;10.000,00;TX-1\n"
    csv = await upload(gateway, statement, name="extracto.csv")
    assert (csv.status_code, csv.json()["format"], csv.json()["status"]) == (201, "csv", "reconciled")
    # A CSV statement sent as Asobancaria is refused as no Asobancaria file, and kept so.
    told = await upload(gateway, statement.replace(b"TX-1", b"TX-2"), name="extracto.csv", format="asobancaria2001")
    assert (told.status_code, told.json()["code"], told.json()["errors"][0]["field"]) == (
        422, "bank_file_malformed", "record_type")
    unknown = await upload(gateway, statement, format="cnab240")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_format")
