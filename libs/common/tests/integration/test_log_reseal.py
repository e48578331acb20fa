"""The embedded log's events written before #19 are resealed in place (real PostgreSQL): every version 1
account.placed and account.updated, live or dead-lettered, becomes version 2 with its debtor sealed for the right
person, no plaintext is left in bus.log, shredding the person then shuts every copy, and a second run is a no-op."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import OutgoingMessage
from recaudo_common.bus.postgres import append
from recaudo_common.db import Database, make_engine
from recaudo_common.events import (
    AccountPlaced,
    AccountPlacedV1,
    AccountUpdated,
    AccountUpdatedV1,
    Envelope,
    decode,
    dlq_topic,
    topic_name,
)
from recaudo_common.personal_data import MasterKeyring, PersonalData, Vault, personal_of
from recaudo_common.personal_data.log_reseal import reseal_event_log
from recaudo_common.runtime import migrate
from recaudo_common.settings import PlatformSettings

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
CLIENT = "banco"
SECRETS = ("Ana Gómez", "1020304050", "3001234567", "ana@correo.co")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(make_engine(database_url))
    yield database
    await database.dispose()


def v1(ref: str, *, updated: bool = False) -> AccountPlacedV1 | AccountUpdatedV1:
    fields = dict(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_id="1020304050", full_name="Ana Gómez",
                  phones=["+573001234567"], email="ana@correo.co", balance=Decimal("100.00"), currency="COP",
                  days_past_due=40, as_of=NOW.date(), authorised_channels=["sms"])
    if updated:
        return AccountUpdatedV1.model_validate({**fields, "previous_balance": Decimal("150.00")})
    return AccountPlacedV1.model_validate(fields)


async def test_the_log_is_resealed_once_and_the_person_can_then_be_erased_from_it(db: Database) -> None:
    vault = Vault(MasterKeyring(bytes(range(32))), key_cache_ttl_s=0)
    account_topic = topic_name("recaudo", "account")
    events = [v1("A-1"), v1("A-2"), v1("A-1", updated=True)]
    messages = [OutgoingMessage(account_topic, f"{CLIENT}/{e.account_ref}",
                                e.envelope(client=CLIENT, occurred_at=NOW).model_dump_json(), {}) for e in events]
    dead = OutgoingMessage(dlq_topic(account_topic), f"{CLIENT}/A-2", messages[1].envelope_json,
                           {"recaudo-dlq-reason": "handler_failed"})
    async with db.transaction() as s:
        await s.execute(text("DELETE FROM bus.migrations_done"))
        await append(s, [*messages, dead])

    assert await reseal_event_log(db, vault, NOW, batch_rows=2) == 4
    async with db.transaction() as s:
        rows = (await s.execute(text("SELECT envelope::text AS env FROM bus.log ORDER BY position"))).all()
    assert len(rows) == 4
    for row in rows:
        for secret in SECRETS:
            assert secret not in row.env
    decoded = [decode(Envelope.model_validate_json(r.env)) for r in rows]
    assert [type(e) for e in decoded] == [AccountPlaced, AccountPlaced, AccountUpdated, AccountPlaced]
    refs = {e.debtor_ref for e in decoded if isinstance(e, (AccountPlaced, AccountUpdated))}
    assert len(refs) == 1 and None not in refs  # one person: the same id number in every event
    ana = PersonalData(full_name="Ana Gómez", id_number="1020304050", phones=("+573001234567",),
                       email="ana@correo.co")
    async with db.transaction() as s:
        for event in decoded:
            assert isinstance(event, (AccountPlaced, AccountUpdated))
            assert await personal_of(vault, s, CLIENT, event) == ana
        assert await vault.find(s, CLIENT, "id_number", "1020304050") in refs

    assert await reseal_event_log(db, vault, NOW) == 0  # done once, marked

    async with db.transaction() as s:
        await vault.shred(s, CLIENT, next(iter(refs)), "request", NOW)
    async with db.transaction() as s:
        for event in decoded:
            assert isinstance(event, (AccountPlaced, AccountUpdated))
            assert await personal_of(vault, s, CLIENT, event) is None


async def test_a_start_after_a_restore_deletes_again_the_keys_of_people_in_the_register(
        db: Database, database_url: str) -> None:
    settings = PlatformSettings(database_url=database_url)
    vault = Vault.from_settings(settings, key_cache_ttl_s=0)
    async with db.transaction() as s:
        erased = await vault.person_for(s, CLIENT, "55667788", NOW)
        kept = await vault.person_for(s, CLIENT, "99887766", NOW)
        await vault.shred(s, CLIENT, erased.debtor_ref, "request", NOW)
    # A restore from a backup taken before the erasure brings the key back; the register, kept apart, says who.
    async with db.transaction() as s:
        await s.execute(text("INSERT INTO vault.people (client_slug, debtor_ref, wrapped_key, master_key_id,"
                             " created_at) VALUES (:c, :r, :k, :m, :at)"),
                        {"c": CLIENT, "r": erased.debtor_ref, "at": NOW,
                         "k": vault.keyring.wrap(erased.key)[0], "m": vault.keyring.wrap(erased.key)[1]})
        assert await vault.key_of(s, CLIENT, erased.debtor_ref) is not None

    await migrate(settings, [])

    async with db.transaction() as s:
        assert await vault.key_of(s, CLIENT, erased.debtor_ref) is None
        assert await vault.key_of(s, CLIENT, kept.debtor_ref) == kept.key
