"""Retention per client company on a real PostgreSQL: an operator sets it; the daily job erases on schedule the
people whose last account was recalled or closed more than the configured days ago, never one with an active
account, never twice, and reports it (a metric, the erasures list); repeated confirmations complete an erasure
once; a replayed debtor.erased shreds again a key a restore brought back."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    ClientRegistered,
    DebtorErased,
    DebtorErasureConfirmed,
    DebtorErasureRefused,
    PaymentApplied,
    PaymentReversedV3,
    PaymentWrittenOff,
)
from recaudo_common.events.privacy import ERASING_SERVICES
from recaudo_common.personal_data import Person, PersonalData, Vault, seal
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test
from recaudo_common.testing_pages import assert_invalid_cursors_refused, walk_pages
from reporting.privacy.retention import erase_expired

from .conftest import deliver, reporting_client

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
PLACED = NOW - dt.timedelta(days=120)
BANCO = "/v1/clients/banco"


@dataclass
class World:
    platform: Platform
    vault: Vault
    operator: str
    banco: str
    people: dict[str, Person]


def placed(ref: str, person: Person, id_number: str) -> AccountPlaced:
    data = PersonalData(full_name=f"Persona {ref}", id_number=id_number)
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=person.debtor_ref,
                         personal=seal(person.key, person.client, person.debtor_ref, data), has_phone=False,
                         has_email=False, balance=Decimal("1000"), currency="COP", days_past_due=90,
                         as_of=PLACED.date(), authorised_channels=["sms"])


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    vault = Vault.from_settings(platform.settings)
    people: dict[str, Person] = {}
    async with platform.db.transaction() as s:
        for name in ("recalled", "paid", "active", "mixed"):
            people[name] = await vault.person_for(s, "banco", f"id-{name}", PLACED)
    await deliver(platform, [
        ("banco", PLACED, ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP",
                                           timezone="America/Bogota", locale="es-CO",
                                           default_authorised_channels=["sms"])),
        ("banco", PLACED, placed("R-1", people["recalled"], "id-recalled")),
        ("banco", PLACED, placed("P-1", people["paid"], "id-paid")),
        ("banco", PLACED, placed("X-1", people["active"], "id-active")),
        ("banco", PLACED, placed("M-1", people["mixed"], "id-mixed")), ("banco", PLACED, placed("M-2", people["mixed"], "id-mixed")),
        ("banco", NOW, AccountRecalled(account_ref="R-1", recalled_at=NOW - dt.timedelta(days=40))),
        ("banco", NOW, PaymentApplied(payment_id=uuid.uuid4(), account_ref="P-1", amount=Decimal("1000"),
                                      currency="COP", paid_at=NOW - dt.timedelta(days=10), source="gateway",
                                      new_balance=Decimal("0"), account_status="paid")),
        ("banco", NOW, AccountRecalled(account_ref="M-1", recalled_at=NOW - dt.timedelta(days=400))),
    ], now=NOW)
    operator = (await platform.keys.create(role="operator", now=NOW))[1]
    banco = (await platform.keys.create(role="client", client_slug="banco", now=NOW))[1]
    yield World(platform, vault, operator, banco, people)
    await platform.db.dispose()


def started_by_retention() -> float:
    return REGISTRY.get_sample_value("recaudo_reporting_erasures_started_total", {"reason": "retention"}) or 0.0


async def test_retention_erases_on_schedule_once_and_never_an_active_obligation(world: World) -> None:
    async with reporting_client(world.platform, world.operator) as api:
        assert (await api.get(f"{BANCO}/retention")).json() == {"client": "banco", "days_after_closure": None}
        assert await erase_expired(world.platform.db, now=NOW) == 0  # none configured: everything is kept
        refused = await api.put(f"{BANCO}/retention", json={"days_after_closure": -1})
        assert refused.status_code == 422
        client_key = await api.put(f"{BANCO}/retention", json={"days_after_closure": 30},
                                   headers={"Authorization": f"Bearer {world.banco}"})
        assert client_key.status_code == 403
        assert (await api.put(f"{BANCO}/retention", json={"days_after_closure": 30})).json() == {
            "client": "banco", "days_after_closure": 30}

        before = started_by_retention()
        # Recalled 40 days ago: due. Paid 10 days ago: not yet. Active, or one account still active: never.
        assert await erase_expired(world.platform.db, now=NOW) == 1
        assert await erase_expired(world.platform.db, now=NOW) == 0  # idempotent: the same day, or a restart
        listed = (await api.get(f"{BANCO}/erasures")).json()["items"]
        assert [(e["reason"], e["account_refs"], e["status"]) for e in listed] == [
            ("retention", ["R-1"], "in_progress")]
        assert started_by_retention() == before + 1

        later = NOW + dt.timedelta(days=21)  # the payment is now 31 days old
        assert await erase_expired(world.platform.db, now=later) == 1
        assert await erase_expired(world.platform.db, now=later + dt.timedelta(days=3650)) == 0
        listed = (await api.get(f"{BANCO}/erasures")).json()["items"]
        assert sorted(e["account_refs"][0] for e in listed) == ["P-1", "R-1"]
        assert started_by_retention() == before + 2

        async with world.platform.db.transaction() as s:
            requested = (await s.execute(text(
                "SELECT envelope->'payload'->>'reason', envelope->'payload'->'account_refs' FROM reporting.outbox "
                "WHERE envelope->>'type' = 'debtor.erasure_proposed' ORDER BY id"))).all()
        assert [(r[0], r[1]) for r in requested] == [("retention", ["R-1"]), ("retention", ["P-1"])]

        # None configured again: nothing more is started.
        assert (await api.put(f"{BANCO}/retention", json={"days_after_closure": None})).status_code == 200
        assert await erase_expired(world.platform.db, now=later + dt.timedelta(days=3650)) == 0


async def test_confirmations_complete_an_erasure_once_and_a_replayed_erasure_shreds_a_restored_key(
        world: World) -> None:
    await erase_expired(world.platform.db, now=NOW)  # nothing configured: nothing
    async with reporting_client(world.platform, world.operator) as api:
        await api.put(f"{BANCO}/retention", json={"days_after_closure": 0})
        assert await erase_expired(world.platform.db, now=NOW) == 2  # recalled and paid
        [erasure] = [e for e in (await api.get(f"{BANCO}/erasures")).json()["items"]
                     if e["account_refs"] == ["R-1"]]
        ref = world.people["recalled"].debtor_ref

        def confirmation(service: str) -> tuple[str, dt.datetime, DebtorErasureConfirmed]:
            return ("banco", NOW, DebtorErasureConfirmed(erasure_id=uuid.UUID(erasure["id"]), debtor_ref=ref,
                                                         service=service, erased_rows=1,  # type: ignore[arg-type]
                                                         confirmed_at=NOW))

        await deliver(world.platform, [confirmation(s) for s in (*ERASING_SERVICES, *ERASING_SERVICES)], now=NOW)
        shown = (await api.get(f"{BANCO}/erasures/{erasure['id']}")).json()
        assert (shown["status"], shown["confirmed_by"]) == ("completed", list(ERASING_SERVICES))
        async with world.platform.db.transaction() as s:
            erased = await s.scalar(text("SELECT count(*) FROM reporting.outbox "
                                         "WHERE envelope->>'type' = 'debtor.erased'"))
            assert erased == 1
            # Ingest and outreach were asked once, after payments' first confirmation (its gate).
            assert await published(s, "debtor.erasure_requested", erasure["id"]) == 1
            assert await Vault.from_settings(world.platform.settings).key_of(s, "banco", ref) is None

        # A backup restored from before an erasure brings the key back; replaying debtor.erased shreds it again.
        active = world.people["active"]
        async with world.platform.db.transaction() as s:
            assert await world.vault.key_of(s, "banco", active.debtor_ref) is not None
        await deliver(world.platform, [("banco", NOW, DebtorErased(erasure_id=uuid.uuid4(), debtor_ref=active.debtor_ref,
                                                                   reason="request", erased_at=NOW))], now=NOW)
        async with world.platform.db.transaction() as s:
            assert await Vault.from_settings(world.platform.settings).key_of(s, "banco", active.debtor_ref) is None
            assert await s.scalar(text("SELECT count(*) FROM reporting.accounts WHERE debtor_ref = :d "
                                       "AND personal IS NOT NULL"), {"d": active.debtor_ref}) == 0


async def kept_until_30_days_after_the_last_money(world: World) -> None:
    """With 30 days of retention, R-1's person (whose last money moved 5 days ago) is not erased now, and is 25 days
    and an hour later, with P-1's."""
    async with reporting_client(world.platform, world.operator) as api:
        await api.put(f"{BANCO}/retention", json={"days_after_closure": 30})
        assert await erase_expired(world.platform.db, now=NOW) == 0
        assert await erase_expired(world.platform.db, now=NOW + dt.timedelta(days=25, hours=1)) == 2  # and P-1
        listed = (await api.get(f"{BANCO}/erasures")).json()["items"]
        assert sorted(e["account_refs"][0] for e in listed) == ["P-1", "R-1"]


async def test_money_received_after_a_recall_restarts_the_retention_clock(world: World) -> None:
    """R-1 was recalled 40 days ago, then paid 5 days ago (money the platform must keep the records of): the person
    is kept until 30 days after that payment, not after the recall."""
    await deliver(world.platform, [("banco", NOW, PaymentApplied(
        payment_id=uuid.uuid4(), account_ref="R-1", amount=Decimal("200"), currency="COP",
        paid_at=NOW - dt.timedelta(days=5), source="gateway", new_balance=Decimal("800"),
        account_status="open"))], now=NOW)
    await kept_until_30_days_after_the_last_money(world)


async def test_money_taken_back_after_a_recall_restarts_the_retention_clock(world: World) -> None:
    """R-1 paid 60 days ago, was recalled 40 days ago, and the payment was charged back 5 days ago (money taken back,
    whose records the platform must keep like a payment's): the person is kept until 30 days after the chargeback,
    not after the recall."""
    payment_id = uuid.uuid4()
    await deliver(world.platform, [
        ("banco", NOW, PaymentApplied(payment_id=payment_id, account_ref="R-1", amount=Decimal("200"),
                                      currency="COP", paid_at=NOW - dt.timedelta(days=60), source="gateway",
                                      new_balance=Decimal("800"), account_status="open")),
        ("banco", NOW, PaymentReversedV3(payment_id=payment_id, reversal_id=uuid.uuid4(), account_ref="R-1",
                                         amount=Decimal("200"), kind="chargeback",
                                         reversed_at=NOW - dt.timedelta(days=5), new_balance=Decimal("1000"),
                                         account_status="open", payment_amount=Decimal("200"),
                                         reversed_total=Decimal("200")))], now=NOW)
    await kept_until_30_days_after_the_last_money(world)


async def published(s: AsyncSession, kind: str, erasure_id: str) -> int:
    found: int = await s.scalar(text(
        "SELECT count(*) FROM reporting.outbox WHERE envelope->>'type' = :t "
        "AND envelope->'payload'->>'erasure_id' = :e"), {"t": kind, "e": erasure_id})
    return found


async def test_an_erasure_payments_refuses_erases_nothing_and_retention_may_ask_again(world: World) -> None:
    """Reporting decided on its read model (P-1 paid); payments' ledger had it reopened (a chargeback not yet read
    here) and refused: no other service is asked, the key stays, the person is still found, a late confirmation
    changes nothing, and retention may propose again (payments decides again)."""
    async with reporting_client(world.platform, world.operator) as api:
        await api.put(f"{BANCO}/retention", json={"days_after_closure": 30})
        later = NOW + dt.timedelta(days=21)
        assert await erase_expired(world.platform.db, now=later) == 2  # the recalled and the paid person
        [erasure] = [e for e in (await api.get(f"{BANCO}/erasures")).json()["items"] if e["account_refs"] == ["P-1"]]
        paid = world.people["paid"].debtor_ref
        await deliver(world.platform, [
            ("banco", later, DebtorErasureRefused(erasure_id=uuid.UUID(erasure["id"]), debtor_ref=paid,
                                                  active_account_refs=["P-1"], refused_at=later)),
            *[("banco", later, DebtorErasureConfirmed(erasure_id=uuid.UUID(erasure["id"]), debtor_ref=paid,
                                                      service=service, erased_rows=0,  # type: ignore[arg-type]
                                                      confirmed_at=later)) for service in ERASING_SERVICES]],
            now=later)
        shown = (await api.get(f"{BANCO}/erasures/{erasure['id']}")).json()
        assert (shown["status"], shown["completed_at"]) == ("refused", later.isoformat().replace("+00:00", "Z"))
        async with world.platform.db.transaction() as s:
            assert await published(s, "debtor.erasure_requested", erasure["id"]) == 0
            assert await published(s, "debtor.erased", erasure["id"]) == 0
            assert await world.vault.key_of(s, "banco", paid) is not None
            assert await world.vault.find(s, "banco", "id_number", "id-paid") == paid
        assert await erase_expired(world.platform.db, now=later + dt.timedelta(days=1)) == 1


async def test_the_erasures_are_read_page_by_page_newest_first(world: World) -> None:
    async with reporting_client(world.platform, world.operator) as api:
        await api.put(f"{BANCO}/retention", json={"days_after_closure": 30})
        assert await erase_expired(world.platform.db, now=NOW) == 1  # the recalled person
        assert await erase_expired(world.platform.db, now=NOW + dt.timedelta(days=21)) == 1  # then the paid one
        items, pages = await walk_pages(api, f"{BANCO}/erasures", limit=1)
        assert pages == 2 and [e["account_refs"] for e in items] == [["P-1"], ["R-1"]]  # newest first
        assert items == (await api.get(f"{BANCO}/erasures")).json()["items"]
        await assert_invalid_cursors_refused(api, f"{BANCO}/erasures", ("2026-06-01T12:00:00", str(uuid.uuid4())),
                                             ("2026-06-01T12:00:00+00:00", "R-1"), (None, None))


async def test_a_written_off_account_ends_at_its_write_off_not_at_its_last_payment(world: World) -> None:
    """A write-off closes the account (its status written_off): the retention counts from it. Part paid 100 days
    ago, the rest written off 10 days ago: with 30 days the person is kept until the write-off is 30 days old."""
    async with world.platform.db.transaction() as s:
        person = await world.vault.person_for(s, "banco", "id-written-off", PLACED)
    await deliver(world.platform, [
        ("banco", PLACED, placed("W-1", person, "id-written-off")),
        ("banco", NOW, PaymentApplied(payment_id=uuid.uuid4(), account_ref="W-1", amount=Decimal("400"),
                                      currency="COP", paid_at=NOW - dt.timedelta(days=100), source="gateway",
                                      new_balance=Decimal("600"), account_status="open")),
        ("banco", NOW, PaymentWrittenOff(write_off_id=uuid.uuid4(), account_ref="W-1", amount=Decimal("600"),
                                         currency="COP", reason="uneconomic", source="operator",
                                         written_off_at=NOW - dt.timedelta(days=10), new_balance=Decimal("0"),
                                         written_off_total=Decimal("600"), account_status="written_off")),
    ], now=NOW)
    async with reporting_client(world.platform, world.operator) as api:
        await api.put(f"{BANCO}/retention", json={"days_after_closure": 30})

        async def erased_accounts() -> list[list[str]]:
            return sorted(e["account_refs"] for e in (await api.get(f"{BANCO}/erasures")).json()["items"])

        await erase_expired(world.platform.db, now=NOW)
        assert await erased_accounts() == [["R-1"]]  # the recalled person only: the write-off is 10 days old
        await erase_expired(world.platform.db, now=NOW + dt.timedelta(days=21))
        assert await erased_accounts() == [["P-1"], ["R-1"], ["W-1"]]
