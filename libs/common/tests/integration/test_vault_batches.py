"""The vault's set-based calls on a real PostgreSQL: a batch of id numbers gets one person per id number (repeats,
other spellings, a concurrent batch, a rotation) in a fixed handful of statements, the same people person_for
gives, and a batch of phones and e-mails finds its people, the first holder keeping a shared one."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text

from recaudo_common.db import Database, make_engine
from recaudo_common.personal_data import MasterKeyring, Person, Vault
from recaudo_common.testing import eventually

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
MASTER = bytes(range(32))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(make_engine(database_url, pool_size=12))
    yield database
    await database.dispose()


async def count(db: Database, table: str) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(text(f"SELECT count(*) FROM vault.{table}")) or 0)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent to the server while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def people_for(db: Database, vault: Vault, client: str, id_numbers: Sequence[str]) -> dict[str, Person]:
    async with db.transaction() as s:
        return await vault.people_for(s, client, id_numbers, NOW)


async def test_a_batch_with_repeats_gets_one_person_per_id_number_the_same_as_person_for(db: Database) -> None:
    vault = Vault(MasterKeyring(MASTER))
    async with db.transaction() as s:
        ana = await vault.person_for(s, "banco", "1020304050", NOW)
    batch = ["1.020.304.050", "77", "CE-884422", "1020304050", "77", "ce 884422"]
    people = await people_for(db, Vault(MasterKeyring(MASTER)), "banco", batch)
    assert set(people) == set(batch)
    assert people["1.020.304.050"] == people["1020304050"] == ana  # held already: found, key and all
    assert people["CE-884422"] == people["ce 884422"]  # spellings of one id number: one person
    assert len({p.debtor_ref for p in people.values()}) == 3
    assert await count(db, "people") == 3 and await count(db, "lookups") == 3
    async with db.transaction() as s:
        assert await Vault(MasterKeyring(MASTER)).person_for(s, "banco", "77", NOW) == people["77"]
        elsewhere = await vault.people_for(s, "telco", ["77"], NOW)
    assert elsewhere["77"].debtor_ref != people["77"].debtor_ref  # another client company: another person
    assert await people_for(db, Vault(MasterKeyring(MASTER)), "banco", batch) == people
    assert await people_for(db, vault, "banco", []) == {}


async def test_a_thousand_id_numbers_take_two_statements_and_once_held_one(db: Database) -> None:
    vault = Vault(MasterKeyring(MASTER), key_cache_ttl_s=0)
    numbers = [str(10_000_000 + i) for i in range(1000)]
    with statements(db) as sent:
        people = await people_for(db, vault, "banco", numbers)
    vault_statements = [q for q in sent if "vault." in q]
    assert len(vault_statements) == 2, vault_statements  # one read, one insert of those not held
    assert len({p.debtor_ref for p in people.values()}) == 1000
    with statements(db) as sent:
        again = await people_for(db, vault, "banco", [*numbers, *numbers[:10]])
    assert len([q for q in sent if "vault." in q]) == 1 and again == {n: people[n] for n in numbers}


async def test_batches_at_once_sharing_id_numbers_get_one_person_per_id_number(db: Database) -> None:
    vault = Vault(MasterKeyring(MASTER))
    # The first batch has created its people but not committed; the second must wait for it, not create others.
    async with db.sessions() as first:
        await first.begin()
        winners = await vault.people_for(first, "banco", ["1", "2", "3"], NOW)
        second = asyncio.create_task(people_for(db, Vault(MasterKeyring(MASTER)), "banco", ["5", "3", "4", "2"]))

        async def second_is_waiting() -> bool:
            async with db.transaction() as s:
                return bool(await s.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()")))

        await eventually(second_is_waiting, timeout_s=20, message="the second batch waiting on the first")
        await first.commit()
    losers = await second
    assert losers["2"] == winners["2"] and losers["3"] == winners["3"]
    assert len({losers["4"].debtor_ref, losers["5"].debtor_ref, *(p.debtor_ref for p in winners.values())}) == 5
    # Several batches at once, the same id numbers in different orders: one person each, and no deadlock.
    numbers = [f"9{i:03}" for i in range(60)]
    orders = [random.Random(seed).sample(numbers, len(numbers)) for seed in range(6)]
    batches = await asyncio.gather(*(people_for(db, Vault(MasterKeyring(MASTER)), "banco", o) for o in orders))
    for number in numbers:
        assert len({batch[number].debtor_ref for batch in batches}) == 1
    assert await count(db, "people") == 5 + 60 and await count(db, "lookups") == 5 + 60


async def test_a_batch_of_phones_and_emails_finds_its_people_and_a_shared_one_its_first_holder(db: Database) -> None:
    vault = Vault(MasterKeyring(MASTER))
    async with db.transaction() as s:
        people = await vault.people_for(s, "banco", ["101", "102"], NOW)
        ana, ben = people["101"].debtor_ref, people["102"].debtor_ref
        added = await vault.index_many(s, "banco", [
            (ana, "phone", "+573001234567"), (ana, "email", "Ana.Perez@Example.com"),
            (ben, "phone", "+573001234567"),  # shared within the batch: the first given keeps it
            (ben, "phone", "+573007654321"), (ben, "phone", "300 765 4321"),  # not E.164: skipped
            (ben, "email", "  "), (uuid.uuid4(), "email", "nadie@example.com")])  # empty; nobody held: skipped
        assert added == 3
        assert await vault.index_many(s, "banco", [(ben, "email", "ana.perez@example.com")]) == 0  # already Ana's
        assert not await vault.index(s, "banco", ben, "phone", "+573001234567")  # index agrees: Ana's
    async with db.transaction() as s:
        assert await vault.find(s, "banco", "phone", "+573001234567") == ana
        assert await vault.find(s, "banco", "email", "ana.perez@example.com") == ana
        assert await vault.find(s, "banco", "phone", "+573007654321") == ben
        assert await vault.find(s, "banco", "email", "nadie@example.com") is None
        assert await vault.find(s, "telco", "phone", "+573001234567") is None
    assert await count(db, "lookups") == 2 + 3


async def test_after_a_master_key_rotation_a_batch_finds_people_and_indexes_them_under_the_new_key(db: Database
                                                                                                   ) -> None:
    old, new = MASTER, bytes(range(100, 132))
    before = await people_for(db, Vault(MasterKeyring(old)), "banco", ["1020304050", "66"])
    rotated = Vault(MasterKeyring(new, [old]))
    after = await people_for(db, rotated, "banco", ["1.020.304.050", "66", "88"])
    assert after["1.020.304.050"] == before["1020304050"] and after["66"] == before["66"]
    async with db.transaction() as s:
        only_new = Vault(MasterKeyring(new))
        for number in ("1020304050", "66", "88"):
            assert await only_new.find(s, "banco", "id_number", number) is not None  # re-indexed or new
        assert await rotated.rewrap(s) == 2
    assert await count(db, "people") == 3
