"""A person's erasure reaches every plaintext copy of their data in payments (#19): asked on the debtor topic,
payments erases the id numbers its accounts and suspense payments keep, the hashes over them and the reasons an
operator typed about their payments, and confirms on the same topic; amounts, dates and references stay, another
person's data is intact, and asking twice confirms twice (real PostgreSQL, each real bus: the relay, the topic
and payments' running consumer)."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.main import build
from payments.settings import PaymentsSettings
from recaudo_common.bus.base import Message, Subscriber
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import (
    AccountPlacedV1,
    AccountPseudonymised,
    AccountRecalled,
    DebtorErased,
    DebtorErasureProposed,
    DebtorErasureRequested,
    Envelope,
    topic_name,
)
from recaudo_common.outbox import Outbox
from recaudo_common.runtime import Platform, background_tasks, make_platform
from recaudo_common.testing import eventually, relay_all, settings_for_test

from .conftest import NOW, Gateway, consumer, deliver, gateway_on, payment, placed, sealed_debtor

pytestmark = pytest.mark.integration

ANA = {"id": "1020304050", "name": "Ana María Pérez", "phone": "+573001234567", "email": "ana.perez@example.com"}
# Every spelling of Ana that must be gone: her id number as she and her client company wrote it, her name, her
# phone raw and in E.164, her e-mail.
ANA_IDENTIFIERS = ("1020304050", "1.020.304.050", "Ana María Pérez", "3001234567", "+573001234567",
                   "ana.perez@example.com")
BOB = {"id": "900800700", "name": "Bob Díaz Ruiz"}


@pytest.fixture(params=["postgres", "kafka"])
async def bus_gateway(request: pytest.FixtureRequest, database_url: str,
                      payments_settings: PaymentsSettings) -> AsyncIterator[Gateway]:
    """Payments' API on a started platform of each transport."""
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    platform = make_platform(settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap),
                             pool_size=8, clock=lambda: NOW)
    await platform.transport.start()
    async with gateway_on(platform, payments_settings) as opened:
        yield opened
    await platform.transport.stop()
    await platform.db.dispose()


@contextlib.asynccontextmanager
async def payments_running(platform: Platform, settings: PaymentsSettings) -> AsyncIterator[None]:
    """Payments' consumer and relay running on the platform's bus, as `recaudo serve` runs them."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(task(stop)) for task in background_tasks(platform, [build(platform, settings)], stop)]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def request_erasure(platform: Platform, request: DebtorErasureProposed | DebtorErasureRequested) -> None:
    """Reporting's part: the request in its outbox, published on the erasures' topic by the relay."""
    async with platform.db.transaction() as s:
        await Outbox("reporting").add(s, [request.envelope(client="banco", occurred_at=NOW)])
    await relay_all(platform, "reporting")


class Confirmations:
    """What payments confirmed on the erasures' topic, read as any other service reads it."""

    def __init__(self, subscriber: Subscriber) -> None:
        self.subscriber = subscriber
        self.seen: dict[uuid.UUID, Envelope] = {}  # by event id, in the order read

    async def of(self, erasure_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
        async def arrived() -> list[dict[str, Any]]:
            batch = await self.subscriber.fetch(max_records=50, timeout_s=0.5)
            if batch:
                await self.subscriber.commit(batch)
            self.seen |= {m.envelope.event_id: m.envelope for m in batch}
            found = [e.payload for e in self.seen.values() if e.type == "debtor.erasure_confirmed"
                     and e.payload["erasure_id"] == str(erasure_id)]
            return found if len(found) >= count else []

        return await eventually(arrived, timeout_s=60, message=f"{count} confirmation(s) of the erasure")


@contextlib.asynccontextmanager
async def confirmations(platform: Platform) -> AsyncIterator[Confirmations]:
    topic = topic_name(platform.settings.topic_prefix, DebtorErasureRequested.family)
    await platform.transport.ensure_topics([topic])
    subscriber = platform.transport.subscriber(f"{platform.settings.topic_prefix}.erasure-reader", [topic])
    await subscriber.start()
    try:
        yield Confirmations(subscriber)
    finally:
        await subscriber.stop()


async def dump(platform: Platform) -> str:
    """Every row of every table of schema payments, as JSON text."""
    async with platform.db.transaction() as s:
        tables = [r[0] for r in await s.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'payments' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"))]
        assert {"accounts", "payments", "reversals", "idempotency_keys", "bank_files"} <= set(tables)
        rows = [r[0] for table in tables for r in await s.execute(text(
            f'SELECT row_to_json(t)::text FROM payments."{table}" t'))]
    return "\n".join(rows)


async def money(platform: Platform) -> list[tuple[Any, ...]]:
    """Every amount, balance and date payments holds, by account and payment."""
    async with platform.db.transaction() as s:
        return [tuple(r) for q in (
            "SELECT account_ref, balance, status, recalled FROM payments.accounts ORDER BY account_ref",
            "SELECT account_ref, kind, amount, payment_id, booked_at FROM payments.ledger_entries ORDER BY id",
            "SELECT id, account_ref, claimed_account_ref, amount, reversed_amount, currency, paid_at, status, "
            "reference, gateway, external_id, payer_ref FROM payments.payments ORDER BY id",
            "SELECT id, payment_id, kind, amount, reversed_at FROM payments.reversals ORDER BY id",
        ) for r in await s.execute(text(q))]


async def by_id_number(gateway: Gateway, key: str, id_number: str, amount: str) -> dict[str, Any]:
    answer = await gateway.manual(key, {"debtor_id": id_number, "amount": amount, "paid_at": NOW.isoformat()})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def reverse(gateway: Gateway, payment_id: str, reason: str) -> None:
    answer = await gateway.http.post(f"/v1/clients/banco/payments/{payment_id}/reversal",
                                     json={"amount": "1000.00", "reason": reason},
                                     headers={**gateway.as_operator(), "Idempotency-Key": f"rev-{payment_id}"})
    assert answer.json()["status"] == "reversed", answer.text


async def fill(gateway: Gateway) -> None:
    """Every copy of Ana's and Bob's data payments can come to hold."""
    platform = gateway.platform
    # Ana pays by her id number before any account of hers is placed: it finds no one, and waits with it.
    early = await gateway.send(payment("ana-early", ref=None, debtor_id=ANA["id"], amount="2000.00"))
    assert early.json()["status"] == "unmatched", early.text
    # An account placed before #19 (a version 1 event from an old log) keeps her id number in clear.
    await deliver(platform, AccountPlacedV1(
        account_ref="ANA-OLD", portfolio_id=uuid.uuid4(), debtor_id=ANA["id"], full_name=ANA["name"],
        phones=[ANA["phone"]], email=ANA["email"], balance=Decimal("70000.00"), currency="COP", days_past_due=90,
        as_of=NOW.date(), authorised_channels=["sms"]))
    personal = {"full_name": ANA["name"], "phones": (ANA["phone"],), "email": ANA["email"]}
    await deliver(platform, await placed(platform, "ANA-1", "100000.00", ANA["id"], **personal),
                  await placed(platform, "ANA-2", "50000.00", ANA["id"], **personal),
                  await placed(platform, "BOB-1", "80000.00", BOB["id"], full_name=BOB["name"]),
                  await placed(platform, "BOB-2", "60000.00", BOB["id"], full_name=BOB["name"]))
    # Paid by id number as she writes it: two open accounts, so it waits for an operator, with the number.
    waiting = await by_id_number(gateway, "ana-by-id-1", "1.020.304.050", "3000.00")
    assert (waiting["status"], waiting["reason"]) == ("unmatched", "debtor_has_several_open_accounts")
    applied = await gateway.send(payment("ana-gw-1", ref="ANA-1", debtor_id=ANA["id"], amount="30000.00"))
    assert applied.json()["status"] == "applied", applied.text
    manual = await gateway.manual("ana-manual-1", {"account_ref": "ANA-2", "amount": "20000.00",
                                                  "paid_at": NOW.isoformat(), "reference": "recibo 0042"})
    await reverse(gateway, manual.json()["id"], f"devuelto a {ANA['name']}, cédula {ANA['id']}")
    # An operator's write-off of part of ANA-1 noting why in her words, then reversed with a reason naming her.
    await write_off(gateway, "ANA-1", "ana-wo-1", f"{ANA['name']} sin empleo, llamar al {ANA['phone']}")
    reversed_ = await gateway.http.post("/v1/clients/banco/accounts/ANA-1/write-off/reversal",
                                        json={"reason": f"{ANA['name']} (cédula {ANA['id']}) retomó los pagos"},
                                        headers={**gateway.as_operator(), "Idempotency-Key": "ana-wo-rev-1"})
    assert reversed_.status_code == 200, reversed_.text
    # Bob: the same kinds of copies, which his neighbour's erasure must not touch.
    assert (await by_id_number(gateway, "bob-by-id-1", BOB["id"], "4000.00"))["status"] == "unmatched"
    bob = await gateway.send(payment("bob-gw-1", ref="BOB-1", debtor_id=BOB["id"], amount="10000.00"))
    assert bob.json()["status"] == "applied", bob.text
    bob_manual = await gateway.manual("bob-manual-1", {"account_ref": "BOB-2", "amount": "5000.00",
                                                      "paid_at": NOW.isoformat()})
    await reverse(gateway, bob_manual.json()["id"], f"devuelto a {BOB['name']}")
    await write_off(gateway, "BOB-1", "bob-wo-1", f"{BOB['name']} insolvente")
    # Her accounts recalled by the client company: no obligation keeps her data any more (payments checks).
    await deliver(platform, *[AccountRecalled(account_ref=ref, recalled_at=NOW)
                              for ref in ("ANA-1", "ANA-2", "ANA-OLD")])


async def write_off(gateway: Gateway, account_ref: str, key: str, note: str) -> None:
    answer = await gateway.http.post(f"/v1/clients/banco/accounts/{account_ref}/write-off",
                                     json={"reason": "other", "note": note, "amount": "1000.00"},
                                     headers={**gateway.as_operator(), "Idempotency-Key": key})
    assert answer.status_code == 200, answer.text


async def content_hashes(platform: Platform, external_id: str) -> Any:
    async with platform.db.transaction() as s:
        return await s.scalar(text("SELECT content_sha256 FROM payments.payments WHERE external_id = :x"),
                              {"x": external_id})


async def key_fingerprints(platform: Platform) -> dict[str, str]:
    """Each payment-creating Idempotency-Key's fingerprint: its form (`k1`, keyed) or `erased`."""
    async with platform.db.transaction() as s:
        rows = await s.execute(text("SELECT key, split_part(request_sha256, ':', 1) FROM payments.idempotency_keys "
                                    "WHERE payment_id IS NOT NULL"))
    return {r[0]: r[1] for r in rows}


async def test_an_erasure_leaves_no_copy_of_the_person_and_changes_no_amount(bus_gateway: Gateway,
                                                                             payments_settings: PaymentsSettings
                                                                             ) -> None:
    platform = bus_gateway.platform
    await fill(bus_gateway)
    before = await dump(platform)
    # The copies are there to erase (without the erasure this test would fail on each of them).
    assert before.count(ANA["id"]) >= 3 and "1.020.304.050" in before and ANA["name"] in before
    assert await content_hashes(platform, "ana-gw-1") is not None
    amounts = await money(platform)
    async with platform.db.transaction() as s:
        ana = await s.scalar(text("SELECT debtor_ref FROM payments.accounts WHERE account_ref = 'ANA-1'"))
    request = DebtorErasureProposed(erasure_id=uuid.uuid4(), debtor_ref=ana, reason="request", requested_at=NOW,
                                    account_refs=["ANA-1", "ANA-2", "ANA-OLD"])

    async with confirmations(platform) as confirmed, payments_running(platform, payments_settings):
        await request_erasure(platform, request)
        [first] = await confirmed.of(request.erasure_id, 1)
        after = await dump(platform)
        assert [name for name in ANA_IDENTIFIERS if name in after] == []
        assert BOB["id"] in after and BOB["name"] in after  # the other person's data is intact
        assert await content_hashes(platform, "ana-gw-1") is None
        assert await content_hashes(platform, "bob-gw-1") is not None
        assert await money(platform) == amounts  # every balance, entry, payment and reversal as it was
        # Two accounts, two payments, one reversal, one write-off (its note and its reversal's reason); and the
        # fingerprints of the two requests that created her payments (keyed, but computed over her id number): a
        # retry under their keys can no longer be compared.
        assert (first["service"], first["debtor_ref"], first["erased_rows"]) == ("payments", str(ana), 8)
        assert await key_fingerprints(platform) == {
            "ana-by-id-1": "erased", "ana-manual-1": "erased", "bob-by-id-1": "k1", "bob-manual-1": "k1"}
        retried = await bus_gateway.manual("ana-by-id-1", {"debtor_id": "1.020.304.050", "amount": "3000.00",
                                                           "paid_at": NOW.isoformat()})
        assert (retried.status_code, retried.json()["code"]) == (409, "idempotency_key_unverifiable"), retried.text

        # Asked again (the request reporting then sends ingest and outreach, or a retry): checked again, nothing left
        # to erase, confirmed again.
        await request_erasure(platform, DebtorErasureRequested(**{**request.model_dump(), "requested_at": NOW}))
        confirmations_ = await confirmed.of(request.erasure_id, 2)
        assert [c["erased_rows"] for c in confirmations_] == [8, 0]
    again = await dump(platform)
    assert [name for name in ANA_IDENTIFIERS if name in again] == [] and BOB["name"] in again
    assert await money(platform) == amounts


async def test_an_erasure_for_another_client_company_erases_nothing_here(gateway: Gateway) -> None:
    """The same account reference and id number at another client company are another person's."""
    platform = gateway.platform
    await deliver(platform, AccountPlacedV1(
        account_ref="SHARED-1", portfolio_id=uuid.uuid4(), debtor_id=ANA["id"], full_name=ANA["name"],
        balance=Decimal("70000.00"), currency="COP", days_past_due=90, as_of=NOW.date(), authorised_channels=["sms"]))
    waiting = await gateway.send(payment("shared-early", ref=None, debtor_id="1.020.304.050", amount="2000.00"))
    assert waiting.json()["status"] == "unmatched", waiting.text
    before = await dump(platform)
    runtime = ConsumerRuntime(platform.db, platform.transport, consumer(platform), "t", lambda: NOW)
    theirs = DebtorErasureProposed(erasure_id=uuid.uuid4(), debtor_ref=uuid.uuid4(), reason="retention",
                                   requested_at=NOW, account_refs=["SHARED-1"])
    envelope = theirs.envelope(client="otro", occurred_at=NOW)
    assert await runtime.handle_batch([Message("t.debtor", envelope.key, envelope, {})]) == ["processed"]
    after = await dump(platform)
    assert after.count(ANA["id"]) == before.count(ANA["id"]) == 1 and "1.020.304.050" in after
    async with platform.db.transaction() as s:
        confirmed = (await s.execute(text(
            "SELECT envelope->>'client', envelope->'payload'->>'erased_rows' FROM payments.outbox "
            "WHERE envelope->>'type' = 'debtor.erasure_confirmed'"))).all()
    assert [tuple(c) for c in confirmed] == [("otro", "0")]


async def test_an_account_placed_before_pseudonyms_trades_its_id_number_for_the_pseudonym(gateway: Gateway) -> None:
    """The id number an account placed in clear (version 1) kept to match payers by is dropped when ingest's backfill
    announces the account's pseudonym; a payer giving that number still finds it, through the vault."""
    platform = gateway.platform
    await deliver(platform, AccountPlacedV1(
        account_ref="ANA-OLD", portfolio_id=uuid.uuid4(), debtor_id=ANA["id"], full_name=ANA["name"],
        balance=Decimal("70000.00"), currency="COP", days_past_due=90, as_of=NOW.date(), authorised_channels=["sms"]))
    assert ANA["id"] in await dump(platform)
    debtor_ref, personal = await sealed_debtor(platform, ANA["id"], full_name=ANA["name"])
    await deliver(platform, AccountPseudonymised(account_ref="ANA-OLD", debtor_ref=debtor_ref, personal=personal,
                                                 has_phone=False, has_email=False, pseudonymised_at=NOW))
    async with platform.db.transaction() as s:
        row = (await s.execute(text("SELECT debtor_ref, debtor_id, balance FROM payments.accounts "
                                    "WHERE account_ref = 'ANA-OLD'"))).one()
    assert tuple(row) == (debtor_ref, None, Decimal("70000.00"))
    assert ANA["id"] not in await dump(platform)
    paid = await by_id_number(gateway, "ana-by-id", "1.020.304.050", "1000.00")
    assert (paid["status"], paid["account_ref"], paid["matched_by"]) == ("applied", "ANA-OLD", "debtor_id")
    assert ANA["id"] not in await dump(platform)


# What a backup holds of a person in payments, by table: the columns an erasure blanks.
ERASED_COLUMNS = {"accounts": ("account_ref", "debtor_id"), "payments": ("id", "debtor_id, content_sha256"),
                  "reversals": ("id", "reason, content_sha256"), "idempotency_keys": ("key", "request_sha256"),
                  "write_offs": ("id", "note, reversal_reason")}


async def test_a_completed_erasure_erases_again_what_a_restored_backup_brought_back_and_publishes_nothing(
        bus_gateway: Gateway, payments_settings: PaymentsSettings) -> None:
    platform = bus_gateway.platform
    await fill(bus_gateway)
    async with platform.db.transaction() as s:  # the backup, taken before the erasure
        taken = [(table, r[0]) for table in ERASED_COLUMNS for r in await s.execute(text(
            f"SELECT to_jsonb(t)::text FROM payments.{table} t"))]
        ana = await s.scalar(text("SELECT debtor_ref FROM payments.accounts WHERE account_ref = 'ANA-1'"))
    amounts = await money(platform)
    request = DebtorErasureProposed(erasure_id=uuid.uuid4(), debtor_ref=ana, reason="request", requested_at=NOW,
                                    account_refs=["ANA-1", "ANA-2", "ANA-OLD"])
    async with confirmations(platform) as confirmed, payments_running(platform, payments_settings):
        await request_erasure(platform, request)
        await confirmed.of(request.erasure_id, 1)
        assert [name for name in ANA_IDENTIFIERS if name in await dump(platform)] == []
        # The database is restored from that backup: Ana's copies are back.
        async with platform.db.transaction() as s:
            for table, row in taken:
                key, columns = ERASED_COLUMNS[table]
                await s.execute(text(
                    f"UPDATE payments.{table} t SET ({columns}) = (SELECT {columns} FROM "
                    f"jsonb_populate_record(NULL::payments.{table}, CAST(:row AS jsonb))) "
                    f"WHERE t.{key}::text = CAST(:row AS jsonb)->>'{key}'"), {"row": row})
            published = await s.scalar(text("SELECT count(*) FROM payments.outbox"))
        restored = await dump(platform)
        assert ANA["id"] in restored and "1.020.304.050" in restored
        assert (await key_fingerprints(platform))["ana-by-id-1"] == "k1"
        # Reporting's debtor.erased, read again once the consumers' offsets are reset to the backup's time.
        async with platform.db.transaction() as s:
            await Outbox("reporting").add(s, [DebtorErased(
                erasure_id=request.erasure_id, debtor_ref=ana, account_refs=request.account_refs, reason="request",
                erased_at=NOW).envelope(client="banco", occurred_at=NOW)])
        await relay_all(platform, "reporting")

        async def erased_again() -> bool:
            return not [name for name in ANA_IDENTIFIERS if name in await dump(platform)]
        await eventually(erased_again, timeout_s=60, message="the restored copies erased again")
    after = await dump(platform)
    assert BOB["id"] in after and BOB["name"] in after
    assert await content_hashes(platform, "ana-gw-1") is None
    assert (await key_fingerprints(platform))["ana-by-id-1"] == "erased"
    assert await money(platform) == amounts
    async with platform.db.transaction() as s:  # no confirmation, nothing else: no one waits for it
        assert await s.scalar(text("SELECT count(*) FROM payments.outbox")) == published
