"""Outreach's part of #19 through each real bus (PostgreSQL, Kafka: the relay, the topics, outreach's running
consumer and relay, as `recaudo serve` runs them): a sealed placement reaches its debtor's contact points, a
rectification corrects them, each piece of consent evidence is published, and an erasure leaves none of the person's
identifiers in any outreach table, confirmed on the privacy topic, while another person's data is intact."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from outreach.main import build
from outreach.settings import OutreachSettings
from recaudo_common.bus.base import Subscriber
from recaudo_common.events import (
    AccountContactRectified,
    AccountPlaced,
    AccountRecalled,
    ClientRegistered,
    ContactConsentsRecorded,
    DebtorErasureRequested,
    Envelope,
    Event,
    topic_name,
)
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data import PersonalData, Vault
from recaudo_common.runtime import Platform, background_tasks, make_platform
from recaudo_common.testing import eventually, relay_all, sealed_person, settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)  # a Wednesday, 10:00 in Bogotá
ZOILA = PersonalData(full_name="ZOILA QUIÑONES", id_number="79111222", id_type="CC", phones=("+573001112233",),
                     email="zoila.q@example.com", address="Calle 45 # 12-34")
ZOILA_MARKS = ("zoila", "quiñones", "79111222", "3001112233", "zoila.q@example.com", "calle 45", "3005550000")
BRUNO = PersonalData(full_name="BRUNO DÍAZ", id_number="80333444", phones=("+573009998877",), email="b@example.com")


@pytest.fixture(params=["postgres", "kafka"])
async def platform(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Platform]:
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    started = make_platform(settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap),
                            pool_size=8, clock=lambda: NOW)
    await started.transport.start()
    yield started
    await started.transport.stop()
    await started.db.dispose()


@contextlib.asynccontextmanager
async def outreach_running(platform: Platform) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(task(stop))
             for task in background_tasks(platform, [build(platform, OutreachSettings())], stop)]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def publish(platform: Platform, schema: str, *events: Event) -> None:
    """Another service's part: its events in its outbox, published on their topics by the relay."""
    async with platform.db.transaction() as s:
        await Outbox(schema).add(s, [e.envelope(client="banco", occurred_at=NOW) for e in events])
    await relay_all(platform, schema)


@dataclass
class Topic:
    """What outreach published on one topic, read as any other service reads it."""

    subscriber: Subscriber
    seen: dict[uuid.UUID, Envelope] = field(default_factory=dict)

    async def of_type(self, kind: str, count: int) -> list[dict[str, Any]]:
        async def arrived() -> list[dict[str, Any]]:
            batch = await self.subscriber.fetch(max_records=200, timeout_s=0.5)
            if batch:
                await self.subscriber.commit(batch)
            self.seen |= {m.envelope.event_id: m.envelope for m in batch}
            found = [e.payload for e in self.seen.values() if e.type == kind]
            return found if len(found) >= count else []

        return await eventually(arrived, timeout_s=60, message=f"{count} {kind} on the topic")


@contextlib.asynccontextmanager
async def reading(platform: Platform, family: str) -> AsyncIterator[Topic]:
    topic = topic_name(platform.settings.topic_prefix, family)
    await platform.transport.ensure_topics([topic])
    subscriber = platform.transport.subscriber(f"{platform.settings.topic_prefix}.{family}-reader", [topic])
    await subscriber.start()
    try:
        yield Topic(subscriber)
    finally:
        await subscriber.stop()


async def sql(platform: Platform, query: str, **params: Any) -> list[Any]:
    async with platform.db.transaction() as s:
        return list((await s.execute(text(query), params)).all())


async def dump(platform: Platform) -> str:
    tables = [r[0] for r in await sql(platform, "SELECT table_name FROM information_schema.tables "
                                                "WHERE table_schema = 'outreach' AND table_type = 'BASE TABLE'")]
    rows = [r[0] for t in tables for r in await sql(platform, f"SELECT row_to_json(t)::text FROM outreach.{t} t")]
    return "\n".join(rows)


async def placement(platform: Platform, vault: Vault, ref: str, data: PersonalData) -> AccountPlaced:
    debtor_ref, personal = await sealed_person(platform.db, vault, "banco", data, NOW)
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=debtor_ref, personal=personal,
                         has_phone=bool(data.phones), has_email=bool(data.email), balance=Decimal("1500000"),
                         currency="COP", days_past_due=45, as_of=NOW.date(), authorised_channels=["sms", "email"])


async def test_placement_rectification_consent_and_erasure_through_the_bus(platform: Platform) -> None:
    vault = Vault.from_settings(platform.settings)
    zoila = await placement(platform, vault, "Z-1", ZOILA)
    bruno = await placement(platform, vault, "B-1", BRUNO)
    async with outreach_running(platform), reading(platform, ContactConsentsRecorded.family) as contact, \
            reading(platform, DebtorErasureRequested.family) as privacy:
        await publish(platform, "ingest", ClientRegistered(
            slug="banco", name="Banco Andino", country="CO", currency="COP", timezone="America/Bogota",
            locale="es-CO", default_authorised_channels=["sms", "email"]), zoila, bruno)

        async def placed() -> bool:
            return await sql(platform, "SELECT phones FROM outreach.accounts ORDER BY account_ref") == [
                (["+573009998877"],), (["+573001112233"],)]

        await eventually(placed, timeout_s=60, message="both placements opened and stored")
        granted = await contact.of_type("contact.consents_recorded", 2)  # one per account, its channels together
        assert {(g["account_ref"], p["channel"], p["what"], p["source"]) for g in granted for p in g["pieces"]} == {
            (ref, channel, "granted", "client_file") for ref in ("Z-1", "B-1") for channel in ("sms", "email")}

        assert zoila.debtor_ref is not None
        _, corrected = await sealed_person(platform.db, vault, "banco",
                                           ZOILA.model_copy(update={"phones": ("+573005550000",)}), NOW)
        await publish(platform, "ingest", AccountContactRectified(
            account_ref="Z-1", debtor_ref=zoila.debtor_ref, personal=corrected, has_phone=True, has_email=True,
            fields=["phones"], rectified_by="key:0193a6f2-7c4e-7d1a-9b2c-3d4e5f607183", rectified_at=NOW))

        async def rectified() -> bool:
            return await sql(platform, "SELECT phones FROM outreach.accounts WHERE account_ref = 'Z-1'") == [
                (["+573005550000"],)]

        await eventually(rectified, timeout_s=60, message="the rectification applied")
        assert "zoila" in (await dump(platform)).lower()

        await publish(platform, "ingest", AccountRecalled(account_ref="Z-1", recalled_at=NOW))
        request = DebtorErasureRequested(erasure_id=uuid.uuid4(), debtor_ref=zoila.debtor_ref, account_refs=["Z-1"],
                                         reason="request", requested_at=NOW)
        await publish(platform, "reporting", request)
        [confirmed] = await privacy.of_type("debtor.erasure_confirmed", 1)
        assert (confirmed["erasure_id"], confirmed["service"]) == (str(request.erasure_id), "outreach")
        assert confirmed["erased_rows"] > 0
    after = await dump(platform)
    for mark in ZOILA_MARKS:
        assert mark not in after.lower(), mark
    for mark in ("BRUNO DÍAZ", "80333444", "+573009998877", "b@example.com"):
        assert mark in after, mark
