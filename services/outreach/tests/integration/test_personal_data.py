"""Personal data in outreach (#19) on a real PostgreSQL: account events carry the debtor sealed, outreach opens it
with the vault to reach them, and keeps the account without any contact point once the person is erased."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from recaudo_common.events import (
    AccountContactRectified,
    AccountPlaced,
    AccountPlacedV1,
    AccountPseudonymised,
    AccountRecalled,
    AccountUpdated,
    DebtorErased,
    DebtorErasureRequested,
)
from recaudo_common.personal_data import PersonalData
from recaudo_common.webhook_signatures import sign

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration


async def test_a_sealed_placement_reaches_the_debtor_and_keeps_their_pseudonym(outreach: Outreach) -> None:
    placement = await outreach.placed("V-1", phones=("+573001112233",), email="ana@example.com",
                                      address="Calle 1 # 2-3", region="Cundinamarca")
    assert placement.personal is not None and "ana@example.com" not in placement.model_dump_json()
    await outreach.deliver(placement, segmented("V-1", ("sms",)))
    [row] = await outreach.sql("SELECT debtor_ref, debtor_id, full_name, phones, email, address FROM outreach.accounts "
                               "WHERE account_ref = 'V-1'")
    assert tuple(row) == (placement.debtor_ref, "1020304050", "MARÍA PÉREZ", ["+573001112233"], "ana@example.com",
                          "Calle 1 # 2-3, Cundinamarca")
    assert await outreach.tick() == 1
    assert await outreach.sql("SELECT recipient FROM outreach.sandbox_messages") == [("+573001112233",)]


async def test_a_placement_of_a_person_already_shredded_is_kept_with_nothing_to_send_to(outreach: Outreach) -> None:
    placement = await outreach.placed("V-2")
    async with outreach.platform.db.transaction() as s:
        assert placement.debtor_ref is not None
        assert await outreach.vault.shred(s, "banco", placement.debtor_ref, "request", outreach.clock.now)
    await outreach.deliver(placement, segmented("V-2", ("sms", "email")))
    [row] = await outreach.sql("SELECT debtor_ref, debtor_id, full_name, phones, email, address, balance "
                               "FROM outreach.accounts WHERE account_ref = 'V-2'")
    assert tuple(row)[:6] == (placement.debtor_ref, "", "", [], None, None) and row.balance == 1500000
    assert await outreach.attempts("V-2") == []  # no channel has anywhere to go: nothing is planned
    assert await outreach.tick() == 0


async def test_a_sealed_value_moved_onto_another_person_does_not_open_and_sends_nothing(outreach: Outreach) -> None:
    ana, other = await outreach.placed("V-3"), await outreach.placed("V-4", debtor="555")
    moved = ana.model_copy(update={"debtor_ref": other.debtor_ref})  # ana's data under another person's pseudonym
    await outreach.deliver(moved, segmented("V-3", ("sms",)))
    assert await outreach.sql("SELECT debtor_id, phones FROM outreach.accounts WHERE account_ref = 'V-3'") == [
        ("", [])]


async def test_a_rectification_corrects_the_contact_points_and_the_trail_says_who_and_why_not_what(
        outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("V-5", email="vieja@example.com", address="Calle 1", region="Meta"))
    debtor_ref, corrected = await outreach.sealed(PersonalData(
        full_name="MARÍA PÉREZ", id_number="1020304050", phones=("+573005550000",), email="otra@example.com",
        address="Carrera 9 # 8-7"))
    await outreach.deliver(AccountContactRectified(
        account_ref="V-5", debtor_ref=debtor_ref, personal=corrected, has_phone=True, has_email=True,
        fields=["phones", "address"], rectified_by="user:0193a6f2-7c4e-7d1a-9b2c-3d4e5f607182",
        reason="solicitud del titular",  # an event published before still carries one
        rectified_at=outreach.clock.now))
    [row] = await outreach.sql("SELECT phones, email, address FROM outreach.accounts WHERE account_ref = 'V-5'")
    # Only the fields it names: the e-mail was not part of the correction.
    assert tuple(row) == (["+573005550000"], "vieja@example.com", "Carrera 9 # 8-7, Meta")
    [(detail,)] = await outreach.sql("SELECT detail FROM outreach.trail WHERE account_ref = 'V-5' "
                                     "AND kind = 'contact_rectified'")
    assert (detail["rectified_by"], detail["reason"]) == ("user:0193a6f2-7c4e-7d1a-9b2c-3d4e5f607182", "solicitud del titular")
    assert detail["fields"] == ["address", "phones"] and detail["debtor_ref"] == str(debtor_ref)
    assert "5550000" not in str(detail) and "Carrera" not in str(detail)
    # The next send goes to the corrected phone.
    await outreach.deliver(segmented("V-5", ("sms",)))
    assert await outreach.tick() == 1
    assert await outreach.sql("SELECT recipient FROM outreach.sandbox_messages") == [("+573005550000",)]


# ------------------------------------------------------------------ erasure

ZOILA = {"name": "ZOILA QUIÑONES", "debtor": "79111222", "phones": ("+573001112233",),
         "email": "zoila.q@example.com", "address": "Calle 45 # 12-34"}
ZOILA_MARKS = ("zoila", "quiñones", "79111222", "3001112233", "+573001112233", "zoila.q@example.com", "calle 45")
BRUNO_MARKS = ("BRUNO DÍAZ", "80333444", "+573009998877", "bruno@example.com")


async def dump(o: Outreach) -> str:
    """Every row of every table in schema outreach, as JSON text."""
    tables = [r[0] for r in await o.sql("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'outreach' AND table_type = 'BASE TABLE'")]
    assert {"accounts", "outgoing", "sandbox_messages", "contacts", "opt_outs", "trail", "replies"} <= set(tables)
    rows = [r[0] for t in tables for r in await o.sql(f"SELECT row_to_json(t)::text FROM outreach.{t} t")]
    return "\n".join(rows)


async def reply(o: Outreach, message_id: str, text: str, sender: str) -> None:
    raw = json.dumps({"message_id": message_id, "status": "reply", "detail": text, "reply_from": sender,
                      "channel": "sms"}).encode()
    signed = {"Recaudo-Signature": sign(raw, o.settings.sandbox_gateway_secret, o.clock.now)}
    assert (await o.http.post("/v1/webhooks/outreach/sandbox", content=raw, headers=signed)).status_code == 200


async def erasure_of(o: Outreach, debtor_ref: uuid.UUID | None, *refs: str) -> DebtorErasureRequested:
    assert debtor_ref is not None
    return DebtorErasureRequested(erasure_id=uuid.uuid4(), debtor_ref=debtor_ref, account_refs=list(refs),
                                  reason="request", requested_at=o.clock.now)


async def confirmations(o: Outreach) -> list[dict[str, Any]]:
    rows = await o.sql("SELECT envelope FROM outreach.outbox WHERE envelope->>'type' = 'debtor.erasure_confirmed' "
                       "ORDER BY id")
    return [r[0] for r in rows]


async def zoila_and_bruno_contacted(outreach: Outreach) -> list[AccountPlaced]:
    """Zoila placed on two accounts and Bruno on one, each sent a message; Zoila answers with her name, id number
    and a BAJA. Zoila's two placements are returned."""
    outreach.settings.sandbox_delivery_rate = 1.0
    zoila = [await outreach.placed(ref, **ZOILA, channels=("sms", "email"))  # type: ignore[arg-type]
             for ref in ("Z-1", "Z-2")]
    bruno = await outreach.placed("B-1", name="BRUNO DÍAZ", debtor="80333444", phones=("+573009998877",),
                                  email="bruno@example.com")
    await outreach.deliver(*zoila, bruno, segmented("Z-1", ("sms", "email")), segmented("B-1", ("sms",)))
    assert await outreach.tick() == 2  # one message a day to each debtor
    await reply(outreach, "in-z1", "Soy Zoila Quiñones, cédula 79111222, no me escriban más: BAJA", "+573001112233")
    return zoila


async def test_an_erasure_leaves_no_plaintext_of_the_person_in_any_table_and_is_confirmed(outreach: Outreach) -> None:
    """A person contacted on two accounts (messages sent, a reply, an opt-out, a do-not-contact entry, a hold with a
    note, a logged call), then erased: a dump of every outreach table holds none of their identifiers, while
    another person's data is intact and the pseudonymous facts (accounts, attempts, amounts, consent) stay."""
    zoila = await zoila_and_bruno_contacted(outreach)
    assert (await outreach.http.post("/v1/clients/banco/accounts/Z-2/legal-holds", headers=outreach.auth, json={
        "hold": "dispute", "note": "Zoila Quiñones disputa, llamar al 3001112233"})).status_code in (200, 201)
    assert (await outreach.http.post("/v1/clients/banco/accounts/Z-2/contacts", headers=outreach.auth, json={
        "channel": "voice", "at": outreach.clock.now.isoformat(), "outcome": "no_answer"})).status_code == 201
    assert (await outreach.http.post("/v1/clients/banco/do-not-contact", headers=outreach.auth, json={
        "debtor_id": "79111222", "reason": "Zoila pidió por escrito (zoila.q@example.com)"})).status_code == 201
    before = (await dump(outreach)).lower()
    assert all(mark in before for mark in ("zoila", "79111222", "+573001112233", "zoila.q@example.com"))
    consent_before = await outreach.sql("SELECT count(*) FROM outreach.consent_evidence WHERE account_ref LIKE 'Z-%'")

    for ref in ("Z-1", "Z-2"):
        await outreach.deliver(AccountRecalled(account_ref=ref, recalled_at=outreach.clock.now))
    await outreach.deliver(await erasure_of(outreach, zoila[0].debtor_ref, "Z-1", "Z-2"))

    after = await dump(outreach)
    for mark in ZOILA_MARKS:
        assert mark not in after.lower(), mark
    for mark in BRUNO_MARKS:
        assert mark in after, mark
    [confirmed] = await confirmations(outreach)
    assert confirmed["payload"]["service"] == "outreach" and confirmed["payload"]["erased_rows"] > 0
    assert confirmed["payload"]["debtor_ref"] == str(zoila[0].debtor_ref)
    assert confirmed["key"] == f"banco/{zoila[0].debtor_ref}"
    # What stays is pseudonymous: the accounts, their balances, the attempts, the consent evidence.
    assert await outreach.sql("SELECT account_ref, balance, debtor_ref FROM outreach.accounts WHERE account_ref "
                              "LIKE 'Z-%' ORDER BY 1") == [("Z-1", 1500000, zoila[0].debtor_ref),
                                                          ("Z-2", 1500000, zoila[0].debtor_ref)]
    assert ("sms", "replied") in await outreach.attempts("Z-1")
    assert await outreach.sql("SELECT count(*) FROM outreach.consent_evidence WHERE account_ref LIKE 'Z-%'") == \
        consent_before
    # Asked again (reporting retries until every service confirms): nothing left, confirmed again.
    await outreach.deliver(await erasure_of(outreach, zoila[0].debtor_ref, "Z-1", "Z-2"))
    assert [c["payload"]["erased_rows"] for c in await confirmations(outreach)][1:] == [0]
    again = (await dump(outreach)).lower()
    assert all(mark not in again for mark in ZOILA_MARKS)


async def test_an_event_about_an_erased_person_that_comes_late_brings_nothing_back(outreach: Outreach) -> None:
    """Reporting shreds the key only once every service has confirmed: until then a restatement in flight still
    opens, and outreach must not take the person back after confirming."""
    placement = await outreach.placed("Z-3", **ZOILA)  # type: ignore[arg-type]
    await outreach.deliver(placement)
    await outreach.deliver(await erasure_of(outreach, placement.debtor_ref, "Z-3"))
    late = AccountUpdated(**(await outreach.placed("Z-3", **ZOILA)).model_dump(),  # type: ignore[arg-type]
                          previous_balance=Decimal("1500000"))
    await outreach.deliver(late, segmented("Z-3", ("sms",)))
    assert await outreach.sql("SELECT debtor_id, full_name, phones, email FROM outreach.accounts "
                              "WHERE account_ref = 'Z-3'") == [("", "", [], None)]
    assert await outreach.attempts("Z-3") == []


async def test_an_account_placed_before_pseudonyms_gets_its_debtors_and_an_erasure_finds_it_by_it(
        outreach: Outreach) -> None:
    """An account placed in clear (version 1, before #19) keeps no pseudonym until ingest's backfill announces it;
    then an erasure that names only the person's pseudonym finds and erases it."""
    old = AccountPlacedV1(account_ref="P-1", portfolio_id=uuid.uuid4(), debtor_id="79111222", full_name="ZOILA QUIÑONES",
                          phones=["+573001112233"], email="zoila.q@example.com", balance=Decimal("1500000"),
                          currency="COP", days_past_due=45, as_of=dt.date(2026, 3, 4), authorised_channels=["sms"])
    await outreach.deliver(old)
    assert await outreach.sql("SELECT debtor_ref, debtor_id FROM outreach.accounts WHERE account_ref = 'P-1'") == [
        (None, "79111222")]
    debtor_ref, personal = await outreach.sealed(PersonalData(full_name="ZOILA QUIÑONES", id_number="79111222",
                                                              phones=("+573001112233",), email="zoila.q@example.com"))
    await outreach.deliver(AccountPseudonymised(account_ref="P-1", debtor_ref=debtor_ref, personal=personal,
                                                has_phone=True, has_email=True, pseudonymised_at=outreach.clock.now))
    # The pseudonym, and the working copy as it was: the account still reaches its debtor.
    assert await outreach.sql("SELECT debtor_ref, debtor_id, phones FROM outreach.accounts "
                              "WHERE account_ref = 'P-1'") == [(debtor_ref, "79111222", ["+573001112233"])]
    await outreach.deliver(AccountRecalled(account_ref="P-1", recalled_at=outreach.clock.now))
    await outreach.deliver(await erasure_of(outreach, debtor_ref))  # no account named: found by the pseudonym
    assert await outreach.sql("SELECT debtor_id, full_name, phones, email FROM outreach.accounts "
                              "WHERE account_ref = 'P-1'") == [("", "", [], None)]
    assert [c["payload"]["erased_rows"] for c in await confirmations(outreach)] == [1]


async def test_a_completed_erasure_erases_again_what_a_restored_backup_brought_back_and_publishes_nothing(
        outreach: Outreach) -> None:
    outreach.settings.sandbox_delivery_rate = 1.0
    placement = await outreach.placed("Z-4", **ZOILA, channels=("sms",))  # type: ignore[arg-type]
    await outreach.deliver(placement, segmented("Z-4", ("sms",)))
    assert await outreach.tick() == 1
    backup = "SELECT 'accounts', to_jsonb(t) FROM outreach.accounts t WHERE account_ref = 'Z-4' UNION ALL " \
             "SELECT 'sandbox_messages', to_jsonb(t) FROM outreach.sandbox_messages t"
    taken = await outreach.sql(backup)  # the backup, taken before the erasure
    requested = await erasure_of(outreach, placement.debtor_ref, "Z-4")
    await outreach.deliver(requested)
    after = (await dump(outreach)).lower()
    assert all(mark not in after for mark in ZOILA_MARKS)
    # The database is restored from that backup: Zoila's copies are back.
    restore = {
        "accounts": "UPDATE outreach.accounts t SET (debtor_id, full_name, phones, email, address) = (SELECT "
                    "debtor_id, full_name, phones, email, address FROM jsonb_populate_record(NULL::outreach.accounts, "
                    "CAST(:row AS jsonb))) WHERE t.account_ref = 'Z-4' RETURNING 1",
        "sandbox_messages": "UPDATE outreach.sandbox_messages t SET (recipient, body) = (SELECT recipient, body FROM "
                            "jsonb_populate_record(NULL::outreach.sandbox_messages, CAST(:row AS jsonb))) "
                            "WHERE t.attempt_id = CAST(CAST(:row AS jsonb)->>'attempt_id' AS uuid) RETURNING 1"}
    for table, row in taken:
        assert await outreach.sql(restore[table], row=json.dumps(row)) == [(1,)]
    restored = (await dump(outreach)).lower()
    assert all(mark in restored for mark in ("zoila", "79111222", "+573001112233"))
    [(outbox_before,)] = await outreach.sql("SELECT count(*) FROM outreach.outbox")
    assert placement.debtor_ref is not None
    erased = DebtorErased(erasure_id=requested.erasure_id, debtor_ref=placement.debtor_ref, account_refs=["Z-4"],
                          reason="request", erased_at=outreach.clock.now)
    await outreach.deliver(erased)
    again = (await dump(outreach)).lower()
    assert all(mark not in again for mark in ZOILA_MARKS)
    assert await outreach.sql("SELECT count(*) FROM outreach.outbox") == [(outbox_before,)]  # nothing published
    assert [r[0] for r in await outreach.sql("SELECT kind FROM outreach.trail WHERE account_ref = 'Z-4' "
                                             "AND kind = 'person_erased'")] == ["person_erased"] * 2
    # Read again with nothing left (the ordinary course): nothing is erased, recorded or published.
    await outreach.deliver(erased)
    assert len(await outreach.sql("SELECT 1 FROM outreach.trail WHERE account_ref = 'Z-4' "
                                  "AND kind = 'person_erased'")) == 2
    assert await outreach.sql("SELECT count(*) FROM outreach.outbox") == [(outbox_before,)]
