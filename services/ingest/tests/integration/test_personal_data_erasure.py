"""A person's erasure reaches every plaintext copy ingest keeps (#19): their accounts' personal fields, and the raw
cells of the rejected rows and warnings that name them in any spelling; another person's stay. The request comes
through the erasures' real topic (on each transport), ingest's real consumer erases and confirms on the topic,
once per request and again when asked again (real HTTP API, real PostgreSQL, real Kafka)."""

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from ingest import handlers
from ingest.consumers import SUBSCRIPTIONS
from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import DebtorErased, DebtorErasureConfirmed, DebtorErasureRequested, decode, topic_name
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, build_app
from recaudo_common.testing import eventually, relay_all

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
HEADER = "Obligación;Cédula;Nombre;Saldo;Días Mora;Telefono1;Correo;Dirección;Asesor"
FILE = "\n".join([
    HEADER,
    "A-1;1.020.304.050;Ana Pérez;1.500.000;15;300 123 4567;ana@correo.co;Calle 10 # 20-30;Marta",
    "A-2;1020304050;Ana Pérez;2.000.000;40;;;;",
    "A-3;;ANA PEREZ;9.000;5;(300) 123-4567;;;",             # rejected (no id): her name in capitals, her phone
    "A-4;55443322;Otra;mucho;5;;;;",                        # rejected: someone else
    "A-5;CC 1020304050;Ana;abc;5;;;;",                      # rejected: her id number among other words
    "A-6;1020304050;Ana Pérez;1.000;5;12;no-es-correo;;",  # accepted with warnings: her row's cells
    "L-1;79888777;Luis Gómez;900.000;5;310 765 4321;luis@correo.co;Carrera 7;Marta",
    "L-2;;Luis Gómez;1;5;310 765 4321;;;",                  # rejected: Luis's, stays
]) + "\n"
# Every spelling of Ana that must be gone from schema ingest, and Luis's that must stay.
ANA = ["Ana Pérez", "ANA PEREZ", "1.020.304.050", "1020304050", "3001234567", "(300) 123-4567",
       "+573001234567", "ana@correo.co", "Calle 10"]
LUIS = ["Luis Gómez", "79888777", "+573107654321", "310 765 4321", "luis@correo.co"]


class Ingest:
    def __init__(self, platform: Platform, http: httpx.AsyncClient) -> None:
        self.platform, self.http = platform, http
        self.vault = Vault.from_settings(platform.settings)
        self.topic = topic_name(platform.settings.topic_prefix, DebtorErasureRequested.family)

    async def upload(self, content: str) -> dict[str, Any]:
        answer = await self.http.post("/v1/clients/banco/portfolios", files={"file": ("c.csv", content.encode())})
        assert answer.status_code == 202, answer.text
        while await handlers.process_next_portfolio(self.platform.db, clock=lambda: NOW, vault=self.vault):
            pass
        return dict((await self.http.get(f"/v1/portfolios/{answer.json()['id']}")).json())

    async def debtor_ref(self, account_ref: str) -> uuid.UUID:
        async with self.platform.db.transaction() as s:
            ref: uuid.UUID = await s.scalar(text(
                "SELECT debtor_ref FROM ingest.accounts WHERE account_ref = :r"), {"r": account_ref})
        return ref

    async def request_erasure(self, request: DebtorErasureRequested) -> None:
        """What reporting does: the request in its outbox, relayed to the erasures' topic."""
        async with self.platform.db.transaction() as s:
            await Outbox("reporting").add(s, [request.envelope(client="banco", occurred_at=NOW)])
        await relay_all(self.platform, "reporting")

    async def dump(self) -> str:
        """Every row of every table of schema ingest, as text."""
        async with self.platform.db.transaction() as s:
            tables = (await s.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ingest'"))).scalars().all()
            rows = [str(r) for t in tables for r in (await s.execute(text(
                f'SELECT row_to_json(t)::text FROM ingest."{t}" t'))).scalars().all()]
        return "\n".join(rows)


@pytest.fixture
async def ingest(platform_on_each_transport: Platform) -> AsyncIterator[Ingest]:
    platform = platform_on_each_transport
    platform.clock = lambda: NOW
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=2_000_000))])
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        assert (await http.post("/v1/clients", json=CO)).status_code == 201
        yield Ingest(platform, http)


async def confirmations(ingest: Ingest, count: int) -> list[DebtorErasureConfirmed]:
    """The first `count` confirmations on the erasures' topic, read by a subscriber of the test's."""
    await ingest.platform.transport.ensure_topics([ingest.topic])
    subscriber = ingest.platform.transport.subscriber(f"test-{uuid.uuid4().hex[:6]}", [ingest.topic])
    await subscriber.start()
    seen: list[DebtorErasureConfirmed] = []

    async def enough() -> bool:
        fetched = await subscriber.fetch(max_records=100, timeout_s=0.5)
        await subscriber.commit(fetched)
        for message in fetched:
            if message.envelope.type == DebtorErasureConfirmed.type:
                event = decode(message.envelope)
                assert isinstance(event, DebtorErasureConfirmed)
                seen.append(event)
        return len(seen) >= count

    try:
        await eventually(enough, timeout_s=60, message="erasure confirmations on the erasures' topic")
    finally:
        await subscriber.stop()
    return seen


async def consume_and_relay(ingest: Ingest, done: Any) -> None:
    """Ingest's real consumer runs until `done`; then its outbox goes to the topics."""
    runtime = ConsumerRuntime(ingest.platform.db, ingest.platform.transport, SUBSCRIPTIONS,
                              ingest.platform.settings.topic_prefix, lambda: NOW)
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(stop))
    try:
        await eventually(done, timeout_s=60, message="the erasure applied")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    await relay_all(ingest.platform, "ingest")


async def test_an_erasure_blanks_every_plaintext_copy_and_is_confirmed_once_per_request(ingest: Ingest) -> None:
    done = await ingest.upload(FILE)
    assert (done["rows_accepted"], done["rows_rejected"], done["rows_with_warnings"]) == (4, 4, 1), done
    # A file sent without its header row is refused, its record showing the first row as the headers it found.
    headless = await ingest.http.post("/v1/clients/banco/portfolios", files={"file": ("c.csv", "\n".join(
        FILE.splitlines()[1:3]).encode())})
    assert (headless.status_code, headless.json()["code"]) == (422, "missing_required_columns"), headless.text
    dump = await ingest.dump()
    assert all(spelling in dump for spelling in ANA + LUIS)  # before: every copy is there
    ana = await ingest.debtor_ref("A-1")
    request = DebtorErasureRequested(erasure_id=uuid.uuid4(), debtor_ref=ana, account_refs=["A-1", "A-2", "A-6"],
                                     reason="request", requested_at=NOW)
    await ingest.request_erasure(request)

    async def ana_erased() -> bool:
        async with ingest.platform.db.transaction() as s:
            return await s.scalar(text("SELECT count(*) FROM ingest.outbox WHERE envelope->>'type' = "
                                       "'debtor.erasure_confirmed'")) == 1
    await consume_and_relay(ingest, ana_erased)
    [confirmed] = await confirmations(ingest, 1)
    # Three accounts, her two rejected rows, the two warnings of her row A-6 and the refused file's first row.
    assert (confirmed.erasure_id, confirmed.debtor_ref, confirmed.service, confirmed.erased_rows) == \
        (request.erasure_id, ana, "ingest", 8)
    dump = await ingest.dump()
    assert [s for s in ANA if s in dump] == []
    assert all(spelling in dump for spelling in LUIS)  # another person's data is intact
    placement = (await ingest.http.get("/v1/clients/banco/placements/A-1")).json()  # amounts, dates, ref stay
    assert (placement["balance"], placement["days_past_due"]) == ("1500000.00", 15)
    assert await ingest.debtor_ref("A-1") == ana
    rejected = (await ingest.http.get(f"/v1/portfolios/{done['id']}/rejections")).json()["items"]
    assert [(r["row"], r["raw_erased"]) for r in rejected if r["raw_erased"]] == [(4, "request"), (6, "request")]
    assert [r["raw"]["Obligación"] for r in rejected if not r["raw_erased"]] == ["A-4", "L-2"]
    exported = (await ingest.http.get(f"/v1/portfolios/{done['id']}/rejections?format=csv")).text
    assert "A-4" in exported and "ANA PEREZ" not in exported and "erased" not in exported.splitlines()[0]

    # Asked again (reporting retries): nothing is left to erase, and ingest says so again.
    again = request.model_copy(update={"requested_at": NOW + dt.timedelta(hours=1)})
    await ingest.request_erasure(again)

    async def confirmed_twice() -> bool:
        async with ingest.platform.db.transaction() as s:
            return await s.scalar(text("SELECT count(*) FROM ingest.inbox WHERE consumer = 'ingest'")) == 2
    await consume_and_relay(ingest, confirmed_twice)
    assert [(c.erasure_id, c.erased_rows) for c in await confirmations(ingest, 2)] == \
        [(request.erasure_id, 8), (request.erasure_id, 0)]
    assert [s for s in ANA if s in await ingest.dump()] == []


async def test_an_erasure_of_another_client_companys_person_touches_nothing_here(ingest: Ingest) -> None:
    await ingest.upload(FILE)
    assert (await ingest.http.post("/v1/clients", json={**CO, "slug": "telco", "name": "Telco"})).status_code == 201
    ana = await ingest.debtor_ref("A-1")
    request = DebtorErasureRequested(erasure_id=uuid.uuid4(), debtor_ref=ana, account_refs=["A-1"],
                                     reason="request", requested_at=NOW)
    async with ingest.platform.db.transaction() as s:  # the same pseudonym and refs, but for telco
        await Outbox("reporting").add(s, [request.envelope(client="telco", occurred_at=NOW)])
    await relay_all(ingest.platform, "reporting")

    async def handled() -> bool:
        async with ingest.platform.db.transaction() as s:
            return await s.scalar(text("SELECT count(*) FROM ingest.inbox")) == 1
    await consume_and_relay(ingest, handled)
    [confirmed] = await confirmations(ingest, 1)
    assert confirmed.erased_rows == 0
    dump = await ingest.dump()
    assert all(spelling in dump for spelling in ANA)


async def test_a_completed_erasure_erases_again_what_a_restored_backup_brought_back_and_publishes_nothing(
        ingest: Ingest) -> None:
    await ingest.upload(FILE)
    ana = await ingest.debtor_ref("A-1")
    backup = "SELECT 'accounts', account_ref, debtor_id, stated::text FROM ingest.accounts UNION ALL " \
             "SELECT 'row_issues', id::text, NULL, raw::text FROM ingest.row_issues"
    async with ingest.platform.db.transaction() as s:
        taken = (await s.execute(text(backup))).all()  # the backup, taken before the erasure
    request = DebtorErasureRequested(erasure_id=uuid.uuid4(), debtor_ref=ana, account_refs=["A-1", "A-2", "A-6"],
                                     reason="request", requested_at=NOW)
    await ingest.request_erasure(request)

    def handled(count: int) -> Callable[[], Awaitable[bool]]:
        async def enough() -> bool:
            async with ingest.platform.db.transaction() as s:
                return await s.scalar(text("SELECT count(*) FROM ingest.inbox WHERE consumer = 'ingest'")) == count
        return enough
    await consume_and_relay(ingest, handled(1))
    assert [s for s in ANA if s in await ingest.dump()] == []
    # The database is restored from that backup: Ana's copies are back.
    async with ingest.platform.db.transaction() as s:
        for table, ref, debtor_id, stated in taken:
            if table == "accounts":
                await s.execute(text("UPDATE ingest.accounts SET debtor_id = :d, stated = CAST(:s AS jsonb) "
                                     "WHERE account_ref = :r"), {"d": debtor_id, "s": stated, "r": ref})
            else:
                await s.execute(text("UPDATE ingest.row_issues SET raw = CAST(:s AS jsonb) WHERE id = :r"),
                                {"s": stated, "r": int(ref)})
        outbox_before = await s.scalar(text("SELECT count(*) FROM ingest.outbox"))
    restored = await ingest.dump()
    assert all(spelling in restored for spelling in ANA)
    # Reporting's debtor.erased, read again once the consumers' offsets are reset to the backup's time.
    erased = DebtorErased(erasure_id=request.erasure_id, debtor_ref=ana, account_refs=request.account_refs,
                          reason="request", erased_at=NOW)
    async with ingest.platform.db.transaction() as s:
        await Outbox("reporting").add(s, [erased.envelope(client="banco", occurred_at=NOW)])
    await relay_all(ingest.platform, "reporting")
    await consume_and_relay(ingest, handled(2))
    dump = await ingest.dump()
    assert [s for s in ANA if s in dump] == []
    assert all(spelling in dump for spelling in LUIS)
    async with ingest.platform.db.transaction() as s:  # no confirmation, nothing else: no one waits for it
        assert await s.scalar(text("SELECT count(*) FROM ingest.outbox")) == outbox_before
