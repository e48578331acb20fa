"""The upload worker is fair between client companies: a small upload sent while another company's large one is
being processed finishes long before it, their batches taking turns; a company's own uploads still apply in the
order they came, whichever worker takes them."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from ingest import store
from ingest.bulk_pace import BulkPace, Downstream
from ingest.reading import FileLimits
from ingest.upload_worker import UploadWorker
from recaudo_common.events import ClientUpdated, ContactAttempted, topic_name
from recaudo_common.personal_data import Vault
from recaudo_common.testing import read_and_commit, relay_all

from .conftest import ClientsApi

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
HEADER = "Cuenta;Cedula;Nombre;Saldo;Mora\n"


def portfolio(prefix: str, rows: int, balance: int = 1000) -> bytes:
    return (HEADER + "".join(f"{prefix}-{i};{i + 1};Deudor {i};{balance + i};30\n" for i in range(rows))).encode()


async def _client(api: ClientsApi, slug: str) -> None:
    created = await api.http.post("/v1/clients", json={
        "slug": slug, "name": slug.title(), "country": "CO", "currency": "COP", "timezone": "America/Bogota",
        "locale": "es-CO"})
    assert created.status_code == 201, created.text


async def _upload(api: ClientsApi, slug: str, content: bytes) -> str:
    answer = await api.http.post(f"/v1/clients/{slug}/portfolios", files={"file": ("cartera.csv", content)},
                                 data={"as_of": "2026-03-31"})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


async def _until_finished(api: ClientsApi, ids: list[str], deadline_s: float = 120) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + deadline_s
    while True:
        records = {i: (await api.http.get(f"/v1/portfolios/{i}")).json() for i in ids}
        if all(r["status"] in ("completed", "failed") for r in records.values()):
            return records
        assert time.monotonic() < deadline, records
        await asyncio.sleep(0.05)


def ticking_clock() -> Any:
    """A clock that moves a millisecond at each reading: the order of the uploads' finishes shows in finished_at."""
    ticks = itertools.count()
    return lambda: NOW + dt.timedelta(milliseconds=next(ticks))


async def test_a_small_upload_finishes_while_another_companys_large_one_is_still_going(
        clients_api: ClientsApi) -> None:
    for slug in ("grande", "pequeno", "otro"):
        await _client(clients_api, slug)
    large = await _upload(clients_api, "grande", portfolio("G", 8000))  # eight batches of 1,000 rows
    small = await _upload(clients_api, "pequeno", portfolio("P", 20))
    other = await _upload(clients_api, "otro", portfolio("O", 1500))  # two batches
    worker = UploadWorker(clients_api.platform.db, clock=ticking_clock(),
                          vault=Vault.from_settings(clients_api.platform.settings), limits=FileLimits(), poll_s=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        records = await _until_finished(clients_api, [large, small, other])
    finally:
        stop.set()
        await running
    assert [records[i]["status"] for i in (large, small, other)] == ["completed"] * 3
    assert [records[i]["rows_accepted"] for i in (large, small, other)] == [8000, 20, 1500]
    finished = {name: dt.datetime.fromisoformat(records[i]["finished_at"])
                for name, i in (("large", large), ("small", small), ("other", other))}
    # Queued after the large one, done long before it: the small ones waited a batch or two, not eight (the two
    # small ones may finish in either order: each batch of an upload shares the turns' two slots with another).
    assert max(finished["small"], finished["other"]) < finished["large"], finished
    # Every batch took a turn: 8 + 1 + 2.
    assert worker.turns.turns_given == 11 and worker.in_progress() == {}


async def test_a_companys_own_uploads_apply_in_the_order_they_came(clients_api: ClientsApi) -> None:
    await _client(clients_api, "banco")
    first = await _upload(clients_api, "banco", portfolio("A", 3000, balance=1000))
    second = await _upload(clients_api, "banco", portfolio("A", 5, balance=5))  # restates A-0..A-4
    async with clients_api.platform.db.transaction() as s:  # it came a second later (the API's clock is fixed here)
        await s.execute(text("UPDATE ingest.portfolios SET created_at = created_at + interval '1 second' "
                             "WHERE id = :id"), {"id": second})
    worker = UploadWorker(clients_api.platform.db, clock=ticking_clock(),
                          vault=Vault.from_settings(clients_api.platform.settings), limits=FileLimits(), poll_s=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        records = await _until_finished(clients_api, [first, second])
    finally:
        stop.set()
        await running
    async with clients_api.platform.db.transaction() as s:
        started = (await s.execute(text("SELECT started_at FROM ingest.portfolios WHERE id = :id"),
                                   {"id": second})).scalar_one()
    assert dt.datetime.fromisoformat(records[first]["finished_at"]) < started  # not begun before the first ended
    balances = {a["account_ref"]: a["balance"] for a in (await clients_api.http.get(
        "/v1/clients/banco/accounts?limit=10&q=A-")).json()["items"]}
    assert balances.get("A-0") in ("5", "5.00"), balances  # the later file's statement stands


async def test_the_bulk_lane_waits_while_the_outbox_and_the_readers_hold_too_much(clients_api: ClientsApi) -> None:
    platform = clients_api.platform
    await _client(clients_api, "banco")  # its client.registered waits in the outbox: one event
    topic = topic_name(platform.settings.topic_prefix, "account")
    pace = BulkPace(platform.db, platform.transport, topic, ["segmentation-group"], backlog=3, after_rows=100,
                    poll_s=0.01)
    async with platform.db.transaction() as s:
        await store.outbox.add(s, [ClientUpdated(slug="banco", name=f"Banco {i}", country="CO", currency="COP",
                                                 timezone="America/Bogota", locale="es-CO",
                                                 default_authorised_channels=["sms"]).envelope(
            client="banco", occurred_at=NOW) for i in range(4)])
    assert await pace.behind() == 4  # counted no further than the bound + 1
    await asyncio.wait_for(pace.wait(rows_read=100), 5)  # a small upload's rows never wait
    waiting_batch = asyncio.create_task(pace.wait(rows_read=101))
    await asyncio.sleep(0.05)
    assert not waiting_batch.done()  # five events ahead (the registration's and these four): more than 3
    while not waiting_batch.done():  # the relay publishes (deletes) them: the batch goes on
        async with platform.db.transaction() as s:
            await s.execute(text("DELETE FROM ingest.outbox WHERE id = (SELECT min(id) FROM ingest.outbox)"))
        await asyncio.wait([waiting_batch], timeout=0.05)
    async with platform.db.transaction() as s:
        assert await store.outbox.unpublished(s, at_most=1000) <= 3


async def test_the_bulk_lane_waits_while_a_contact_lane_is_far_behind(clients_api: ClientsApi,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Outreach records consents on the contact topic for every account it reads, so a large upload's next batch
    also waits while a reader of that topic has more than its bound to read, and goes on as the reader catches up:
    another company's contacts wait behind a bounded few, never a whole portfolio's consents (#24)."""
    platform = clients_api.platform
    prefix = platform.settings.topic_prefix
    contacts = topic_name(prefix, "contact")
    pace = BulkPace(platform.db, platform.transport, topic_name(prefix, "account"), ["segmentation"], backlog=1000,
                    after_rows=100, poll_s=0.01, downstream=[Downstream(contacts, ["reporting-contacts"], 3)],
                    say_every_s=0.02)
    async with platform.db.transaction() as s:  # six contact events, as outreach would write for one account
        await store.outbox.add(s, [ContactAttempted(
            attempt_id=uuid.uuid4(), account_ref="A-1", channel="sms", provider="sandbox", attempted_at=NOW,
            cost=Decimal("25")).envelope(client="banco", occurred_at=NOW) for _ in range(6)])
    assert await relay_all(platform, "ingest") == 6
    await read_and_commit(platform, "reporting-contacts", contacts, 1)
    assert await pace.holding() == contacts  # five left to read: more than 3
    caplog.set_level(logging.WARNING, logger="recaudo.ingest")
    waiting_batch = asyncio.create_task(pace.wait(rows_read=101))
    # The operator is told which topic's readers hold it, while it waits (polled: on a loaded machine one look at
    # the backlogs can take longer than the interval between warnings).
    deadline = time.monotonic() + 10
    while not any(getattr(r, "fields", {}).get("topic") == contacts for r in caplog.records):
        assert time.monotonic() < deadline, caplog.records
        assert not waiting_batch.done()
        await asyncio.sleep(0.01)
    assert not waiting_batch.done()
    await read_and_commit(platform, "reporting-contacts", contacts, 2)  # three left: the batch goes on
    await asyncio.wait_for(waiting_batch, 5)
    assert await pace.holding() is None
    unbounded = BulkPace(platform.db, platform.transport, topic_name(prefix, "account"), ["segmentation"],
                         downstream=[Downstream(contacts, ["reporting-contacts"], 0)])  # 0: that lane never holds
    assert await unbounded.holding() is None


async def test_a_batch_held_longer_than_a_moment_is_shown_on_the_upload_until_it_goes_on(
        clients_api: ClientsApi) -> None:
    """A wait past `show_after_s` is told once, naming the topic whose readers hold the batch, and its end is told
    when the batch goes on; an ordinary short wait is never shown (#24: the upload says why it stands still)."""
    platform = clients_api.platform
    prefix = platform.settings.topic_prefix
    contacts = topic_name(prefix, "contact")
    told: list[tuple[str | None, float]] = []

    async def shown(topic: str | None, waited_s: float) -> None:
        told.append((topic, waited_s))

    def pace(show_after_s: float) -> BulkPace:
        return BulkPace(platform.db, platform.transport, topic_name(prefix, "account"), ["segmentation"],
                        backlog=1000, after_rows=100, poll_s=0.01, show_after_s=show_after_s,
                        downstream=[Downstream(contacts, ["reporting-contacts"], 3)])

    async with platform.db.transaction() as s:
        await store.outbox.add(s, [ContactAttempted(
            attempt_id=uuid.uuid4(), account_ref="A-1", channel="sms", provider="sandbox", attempted_at=NOW,
            cost=Decimal("25")).envelope(client="banco", occurred_at=NOW) for _ in range(5)])
    assert await relay_all(platform, "ingest") == 5
    await read_and_commit(platform, "reporting-contacts", contacts, 1)  # four left: more than 3

    briefly = asyncio.create_task(pace(show_after_s=60).wait(rows_read=101, shown=shown))
    await asyncio.sleep(0.1)
    assert not briefly.done() and told == []  # held, but not for long enough to say so
    held = asyncio.create_task(pace(show_after_s=0.03).wait(rows_read=101, shown=shown))
    deadline = time.monotonic() + 5
    while not told:
        assert time.monotonic() < deadline, "the held batch was never shown"
        await asyncio.sleep(0.01)
    assert told[0][0] == contacts and told[0][1] >= 0.03
    await read_and_commit(platform, "reporting-contacts", contacts, 1)  # three left: both batches go on
    await asyncio.wait_for(asyncio.gather(briefly, held), 5)
    assert told == [told[0], (None, 0.0)]  # shown once, then its end


async def test_the_upload_says_it_is_paused_and_why_then_no_longer(clients_api: ClientsApi) -> None:
    """What the bulk lane tells the upload's record is what GET /v1/portfolios/{id} answers: the family of events
    whose readers it waits for and since when, gone once it goes on; a finished upload is never shown paused."""
    from ingest.handlers import show_pause

    platform = clients_api.platform
    await _client(clients_api, "banco")
    upload = await _upload(clients_api, "banco", portfolio("P", 3))  # no worker here: it stays queued

    async def as_if(status: str) -> None:
        async with platform.db.transaction() as s:
            await s.execute(text("UPDATE ingest.portfolios SET status = :s WHERE id = :id"),
                            {"s": status, "id": uuid.UUID(upload)})

    contacts = topic_name(platform.settings.topic_prefix, "contact")
    await as_if("completed")
    await show_pause(platform.db, uuid.UUID(upload), lambda: NOW, contacts, 90.0)
    assert (await clients_api.http.get(f"/v1/portfolios/{upload}")).json()["paused"] is None  # it has finished
    await as_if("processing")  # as if its worker were on it
    await show_pause(platform.db, uuid.UUID(upload), lambda: NOW, contacts, 90.0)
    paused = (await clients_api.http.get(f"/v1/portfolios/{upload}")).json()["paused"]
    assert paused == {"waiting_for": "contact", "since": (NOW - dt.timedelta(seconds=90)).isoformat()
                      .replace("+00:00", "Z")}
    await show_pause(platform.db, uuid.UUID(upload), lambda: NOW, None, 0.0)
    assert (await clients_api.http.get(f"/v1/portfolios/{upload}")).json()["paused"] is None
