"""The vault on a real PostgreSQL: one person per id number even when two callers race, shredding makes every
sealed copy unreadable and a later placement a new person, and the schema holds no plaintext of anyone."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import Database, make_engine
from recaudo_common.personal_data import (
    MasterKeyring,
    NotIndexable,
    Person,
    PersonalData,
    SealBroken,
    UnknownMasterKey,
    Vault,
    seal,
    unseal,
)
from recaudo_common.testing import eventually

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
MASTER = bytes(range(32))
ANA = PersonalData(full_name="Ana María Pérez", id_number="1020304050", id_type="CC", phones=("+573001234567",),
                   email="ana.perez@example.com", address="Calle 10 # 20-30, Bogotá")


@dataclass
class Monotonic:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(make_engine(database_url, pool_size=12))
    yield database
    await database.dispose()


async def count(db: Database, table: str) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(text(f"SELECT count(*) FROM vault.{table}")) or 0)


async def test_two_callers_at_once_for_one_id_number_get_one_person(db: Database) -> None:
    vault = Vault(MasterKeyring(MASTER))
    # The first caller has created the person but not committed; the second must wait for it, not create another.
    async with db.sessions() as first:
        await first.begin()
        winner = await vault.person_for(first, "banco", "1020304050", NOW)
        second = asyncio.create_task(_person_for(db, Vault(MasterKeyring(MASTER)), "1.020.304.050"))

        async def second_is_waiting() -> bool:
            async with db.transaction() as s:
                return bool(await s.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()")))

        await eventually(second_is_waiting, timeout_s=20, message="the second caller waiting on the first")
        await first.commit()
    loser = await second
    assert loser.debtor_ref == winner.debtor_ref and loser.key == winner.key
    # Many at once, each in its own transaction: still one person, one lookup.
    many = await asyncio.gather(*(_person_for(db, Vault(MasterKeyring(MASTER)), "900123") for _ in range(8)))
    assert len({p.debtor_ref for p in many}) == 1 and len({p.key for p in many}) == 1
    assert await count(db, "people") == 2 and await count(db, "lookups") == 2


async def _person_for(db: Database, vault: Vault, id_number: str) -> Person:
    async with db.transaction() as s:
        return await vault.person_for(s, "banco", id_number, NOW)


async def test_a_person_is_found_by_id_number_phone_and_email_within_their_client_company_only(db: Database) -> None:
    vault = Vault(MasterKeyring(MASTER))
    async with db.transaction() as s:
        ana = await vault.person_for(s, "banco", "1020304050", NOW)
        other = await vault.person_for(s, "banco", "77", NOW)
        same_number_elsewhere = await vault.person_for(s, "telco", "1020304050", NOW)
        assert await vault.index(s, "banco", ana.debtor_ref, "phone", "+573001234567")
        assert await vault.index(s, "banco", ana.debtor_ref, "email", "Ana.Perez@example.com")
        assert await vault.index(s, "banco", ana.debtor_ref, "phone", "+573001234567")  # again: still hers
        assert not await vault.index(s, "banco", other.debtor_ref, "phone", "+573001234567")  # a shared phone
        assert not await vault.index(s, "banco", uuid.uuid4(), "phone", "+573009999999")  # nobody held
    assert same_number_elsewhere.debtor_ref != ana.debtor_ref
    async with db.transaction() as s:
        assert await vault.find(s, "banco", "id_number", "1.020.304.050") == ana.debtor_ref
        assert await vault.find(s, "banco", "phone", "+573001234567") == ana.debtor_ref
        assert await vault.find(s, "banco", "email", " ana.perez@EXAMPLE.com") == ana.debtor_ref
        assert await vault.find(s, "telco", "phone", "+573001234567") is None
        assert await vault.find(s, "telco", "id_number", "1020304050") == same_number_elsewhere.debtor_ref
        assert await vault.key_of(s, "telco", ana.debtor_ref) is None  # a person is reached through its client
        again = await Vault(MasterKeyring(MASTER)).person_for(s, "banco", "1020304050", NOW)
    assert again == ana


async def test_a_value_with_nothing_to_index_finds_no_one_and_creates_no_one(db: Database) -> None:
    # An id number in a request's path that is only punctuation or spaces (`-`, `..`, ` `) is no one's: the
    # privacy and rectification routes answer 404 for it, not 500 (tests/corpus/personal_data.yaml).
    vault = Vault(MasterKeyring(MASTER))
    async with db.transaction() as s:
        await vault.person_for(s, "banco", "1020304050", NOW)
        for kind, value in (("id_number", "-"), ("id_number", " .-/ "), ("id_number", "\u200b"), ("phone", "300 123"),
                            ("email", "   ")):
            assert await vault.find(s, "banco", kind, value) is None  # type: ignore[arg-type]
        with pytest.raises(NotIndexable):  # a person is never created under nothing
            await vault.person_for(s, "banco", "...", NOW)
    assert await count(db, "people") == 1 and await count(db, "lookups") == 1


async def test_shredding_makes_every_sealed_copy_unreadable_and_a_new_placement_a_new_person(db: Database) -> None:
    clock = Monotonic()
    vault, elsewhere = Vault(MasterKeyring(MASTER)), Vault(MasterKeyring(MASTER), monotonic=clock)
    async with db.transaction() as s:
        ana = await vault.person_for(s, "banco", "1020304050", NOW)
        await vault.index(s, "banco", ana.debtor_ref, "phone", "+573001234567")
    sealed = seal(ana.key, "banco", ana.debtor_ref, ANA)  # what an event, a row or a dead letter carries
    async with db.transaction() as s:
        assert await vault.key_of(s, "banco", ana.debtor_ref) == ana.key  # both processes now cache the key
        assert await elsewhere.key_of(s, "banco", ana.debtor_ref) == ana.key
        assert await vault.shred(s, "banco", ana.debtor_ref, "erasure requested", NOW)
        assert not await vault.shred(s, "banco", ana.debtor_ref, "again", NOW)  # idempotent
    async with db.transaction() as s:
        assert await vault.key_of(s, "banco", ana.debtor_ref) is None  # the shredding process forgets at once
        assert await vault.find(s, "banco", "id_number", "1020304050") is None
        assert await vault.find(s, "banco", "phone", "+573001234567") is None
        # The other process may open the person's data until its cache expires, no longer (KEY_CACHE_TTL_S).
        assert await elsewhere.key_of(s, "banco", ana.debtor_ref) == ana.key
        clock.now += 30.0
        assert await elsewhere.key_of(s, "banco", ana.debtor_ref) is None
        register = (await s.execute(text("SELECT client_slug, debtor_ref, shredded_at, reason FROM vault.shredded"))
                    ).all()
    assert [tuple(r) for r in register] == [("banco", ana.debtor_ref, NOW, "erasure requested")]
    assert await count(db, "people") == 0 and await count(db, "lookups") == 0
    async with db.transaction() as s:
        replaced = await vault.person_for(s, "banco", "1020304050", NOW + dt.timedelta(days=1))
    assert replaced.debtor_ref != ana.debtor_ref and replaced.key != ana.key
    # The same id number placed again is a new person with a new key: the erased person's blobs stay shut.
    for key, ref in ((replaced.key, ana.debtor_ref), (replaced.key, replaced.debtor_ref)):
        with pytest.raises(SealBroken):
            unseal(key, "banco", ref, sealed)


async def test_a_restored_backup_loses_again_the_keys_erased_since(db: Database) -> None:
    vault = Vault(MasterKeyring(MASTER))
    async with db.transaction() as s:
        ana = await vault.person_for(s, "banco", "1020304050", NOW)
        kept = await vault.person_for(s, "banco", "55", NOW)
        backup = (await s.execute(text("SELECT * FROM vault.people WHERE debtor_ref = :r"), {"r": ana.debtor_ref})
                  ).one()
        await vault.shred(s, "banco", ana.debtor_ref, "retention", NOW)
        # The restore brings the erased person's key back (the register of erasures is kept apart from backups).
        await s.execute(text("INSERT INTO vault.people VALUES (:c, :r, :w, :m, :t)"), {
            "c": backup.client_slug, "r": backup.debtor_ref, "w": backup.wrapped_key, "m": backup.master_key_id,
            "t": backup.created_at})
        assert await vault.reapply_erasures(s) == 1
        assert await vault.reapply_erasures(s) == 0
        assert await vault.key_of(s, "banco", ana.debtor_ref) is None
        assert await vault.key_of(s, "banco", kept.debtor_ref) == kept.key


async def test_after_a_master_key_rotation_people_are_found_and_their_keys_rewrapped(db: Database) -> None:
    old, new = MASTER, bytes(range(100, 132))
    async with db.transaction() as s:
        ana = await Vault(MasterKeyring(old)).person_for(s, "banco", "1020304050", NOW)
        ben = await Vault(MasterKeyring(old)).person_for(s, "banco", "66", NOW)
    rotated = Vault(MasterKeyring(new, [old]), key_cache_ttl_s=0)
    async with db.transaction() as s:
        assert await rotated.find(s, "banco", "id_number", "66") == ben.debtor_ref  # through the old digest
        assert await rotated.person_for(s, "banco", "1020304050", NOW) == ana  # re-indexed under the new key
        assert await rotated.rewrap(s) == 2
        assert await rotated.rewrap(s) == 0
    only_new = Vault(MasterKeyring(new))
    async with db.transaction() as s:
        assert await only_new.key_of(s, "banco", ana.debtor_ref) == ana.key
        assert await only_new.find(s, "banco", "id_number", "1020304050") == ana.debtor_ref
        assert await only_new.find(s, "banco", "id_number", "66") is None  # never seen since: not re-indexed
    async with db.transaction() as s:
        await s.execute(text("UPDATE vault.people SET master_key_id = 'retired' WHERE debtor_ref = :r"),
                        {"r": ben.debtor_ref})
    async with db.transaction() as s:
        with pytest.raises(UnknownMasterKey, match="retired"):
            await only_new.key_of(s, "banco", ben.debtor_ref)


async def dump_as_text(s: AsyncSession) -> str:
    """Every row of every table of the vault schema as text, as a pg_dump of it would print them."""
    tables = (await s.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'vault'"))).scalars().all()
    assert {"people", "lookups", "shredded", "alembic_version"} <= set(tables)
    rows: list[str] = []
    for table in tables:
        rows += (await s.execute(text(f"SELECT t::text FROM vault.{table} t"))).scalars().all()
        rows += (await s.execute(text(f"SELECT row_to_json(t)::text FROM vault.{table} t"))).scalars().all()
    return "\n".join(rows)


async def test_the_vault_schema_holds_no_plaintext_and_no_data_key(db: Database) -> None:
    vault = Vault(MasterKeyring(MASTER))
    async with db.transaction() as s:
        ana = await vault.person_for(s, "banco", ANA.id_number, NOW)
        for phone in ANA.phones:
            await vault.index(s, "banco", ana.debtor_ref, "phone", phone)
        assert ANA.email is not None
        await vault.index(s, "banco", ana.debtor_ref, "email", ANA.email)
        ben = await vault.person_for(s, "banco", "CE-884422", NOW)
        await vault.shred(s, "banco", ben.debtor_ref, "erasure requested", NOW)
        dump = await dump_as_text(s)
    assert str(ana.debtor_ref) in dump and "erasure requested" in dump  # the dump did read the rows
    for plaintext in (ANA.id_number, "CE884422", "884422", "3001234567", "ana.perez", "example.com",
                      ANA.id_number.encode().hex(), b"884422".hex(), ana.key.hex(), ben.key.hex()):
        assert plaintext.lower() not in dump.lower(), plaintext
