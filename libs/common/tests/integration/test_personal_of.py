"""Opening the sealed data an account event carries, on a real PostgreSQL: a v2 event opens to exactly the
person's data, a batch reads its keys once, an erased person (key shredded) or a value sealed for someone else
opens to nothing, and a v1 event read from an old log gives its plaintext without putting it back on the wire."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from recaudo_common.db import Database, make_engine
from recaudo_common.events import AccountPlaced, AccountPlacedV1, Envelope, decode
from recaudo_common.personal_data import MasterKeyring, PersonalData, Vault, personal_of, personal_of_many, seal

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
CLIENT = f"c{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(make_engine(database_url))
    yield database
    await database.dispose()


def person_data(n: int) -> PersonalData:
    return PersonalData(full_name=f"Persona {n}", id_number=f"10203040{n:02}", phones=(f"+5730012345{n:02}",),
                        email=f"p{n}@correo.co")


def placed(ref: str, debtor_ref: uuid.UUID | None, personal: str | None) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=debtor_ref, personal=personal,
                         has_phone=True, has_email=True, balance=Decimal("100.00"), currency="COP",
                         days_past_due=40, as_of=NOW.date(), authorised_channels=["sms"])


async def test_an_event_opens_to_its_person_until_the_person_is_erased(db: Database) -> None:
    vault = Vault(MasterKeyring(bytes(range(32))), key_cache_ttl_s=0)
    async with db.transaction() as s:
        people = await vault.people_for(s, CLIENT, [person_data(n).id_number for n in range(3)], NOW)
    events = [placed(f"A-{n}", people[person_data(n).id_number].debtor_ref,
                     seal(people[person_data(n).id_number].key, CLIENT, people[person_data(n).id_number].debtor_ref,
                          person_data(n)))
              for n in range(3)]
    # A value copied onto another person does not open.
    swapped = placed("A-X", events[1].debtor_ref, events[0].personal)
    async with db.transaction() as s:
        assert await personal_of(vault, s, CLIENT, events[0]) == person_data(0)
        assert await personal_of_many(vault, s, CLIENT, [*events, swapped]) == [
            person_data(0), person_data(1), person_data(2), None]
        assert await personal_of(vault, s, "another-client", events[0]) is None
        assert events[1].debtor_ref is not None
        await vault.shred(s, CLIENT, events[1].debtor_ref, "request", NOW)
    async with db.transaction() as s:
        assert await personal_of_many(vault, s, CLIENT, events) == [person_data(0), None, person_data(2)]


async def test_a_version_1_event_gives_its_plaintext_but_never_writes_it_again(db: Database) -> None:
    vault = Vault(MasterKeyring(bytes(range(32))), key_cache_ttl_s=0)
    v1 = AccountPlacedV1(account_ref="OLD-1", portfolio_id=uuid.uuid4(), debtor_id="1020304050",
                         full_name="Ana Gómez", phones=["+573001234567"], email="ana@correo.co",
                         balance=Decimal("100.00"), currency="COP", days_past_due=40, as_of=NOW.date(),
                         authorised_channels=["sms"])
    wire = Envelope.model_validate_json(v1.envelope(client=CLIENT, occurred_at=NOW).model_dump_json())
    event = decode(wire)
    assert isinstance(event, AccountPlaced) and event.version == 2
    assert event.has_phone and event.has_email and event.debtor_ref is None
    async with db.transaction() as s:
        opened = await personal_of(vault, s, CLIENT, event)
    assert opened == PersonalData(full_name="Ana Gómez", id_number="1020304050", phones=("+573001234567",),
                                  email="ana@correo.co")
    again = event.envelope(client=CLIENT, occurred_at=NOW).model_dump_json()
    for secret in ("Ana Gómez", "1020304050", "3001234567", "ana@correo.co"):
        assert secret not in again
