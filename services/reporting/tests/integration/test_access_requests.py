"""An access request that reaches every service (Ley 1581 art. 8 (a) and art. 14; ARCO access; Ley 29733), through
reporting's API on a real PostgreSQL and the embedded bus: reporting asks on the debtor topic, each service's part
arrives sealed with the person's key, the answer opens them next to what reporting holds, says when every service
has answered, logs each read, and is gone with the person's erasure."""

import uuid

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Subscriber
from recaudo_common.events import DebtorAccessAnswered, DebtorAccessRequested, DebtorErased, topic_name
from recaudo_common.personal_data import HeldPart, HeldRecord, Person, seal_part
from recaudo_common.testing import eventually

from .test_personal_data import (  # noqa: F401 (world: the fixture)
    ANA,
    BANCO,
    BETO,
    NOW,
    World,
    a_story,
    read_privacy_topic,
    world,
)

pytestmark = pytest.mark.integration


def answer(access_id: uuid.UUID, person: Person, service: str, *records: HeldRecord) -> DebtorAccessAnswered:
    part = seal_part(person.key, "banco", person.debtor_ref, HeldPart(records=records))
    return DebtorAccessAnswered(access_id=access_id, debtor_ref=person.debtor_ref, service=service,  # type: ignore[arg-type]
                                part=part, records=len(records), answered_at=NOW)


REPLY = HeldRecord(kind="reply", account_ref="A-1", at=NOW, values={"body": "BAJA, soy Ana María"})
OPT_OUT = HeldRecord(kind="opt_out", account_ref=None, at=NOW, values={"id_number": ANA.id_number, "channel": "sms"})
NOTE = HeldRecord(kind="write_off_note", account_ref="A-2", at=NOW, values={"note": "Ana sin empleo"})
ROW = HeldRecord(kind="rejected_row", at=NOW, values={"Cédula": "1.020.304.050", "Saldo": "mucho"})


async def test_an_access_request_gathers_every_services_part(world: World) -> None:  # noqa: F811 (the fixture)
    await a_story(world)
    privacy = world.platform.transport.subscriber("the-other-services", [
        topic_name(world.platform.settings.topic_prefix, DebtorAccessRequested.family)])
    await privacy.start()
    try:
        await asked_and_answered(world, privacy)
    finally:
        await privacy.stop()
    async with world.platform.db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM reporting.access_parts WHERE part IS NOT NULL")) == 0


async def asked_and_answered(world: World, privacy: Subscriber) -> None:  # noqa: F811 (world: the fixture)
    async with world.api() as api:
        async def placed() -> bool:
            return (await api.get(f"{BANCO}/debtors/{ANA.id_number}/personal-data")).status_code == 200

        await eventually(placed, timeout_s=30)
        unknown = await api.post(f"{BANCO}/debtors/5550001/access-requests")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found") and "5550001" not in unknown.text
        started = await api.post(f"{BANCO}/debtors/{ANA.id_number}/access-requests")
        assert started.status_code == 202 and started.json()["status"] == "in_progress"
        access_id = uuid.UUID(started.json()["id"])
        [asked] = await read_privacy_topic(world, privacy, DebtorAccessRequested)
        assert isinstance(asked, DebtorAccessRequested)
        assert (asked.access_id, asked.debtor_ref, asked.account_refs) == (access_id, world.ana.debtor_ref,
                                                                           ["A-1", "A-2"])

        await world.publish((NOW, answer(access_id, world.ana, "outreach", REPLY, OPT_OUT)),
                            (NOW, answer(access_id, world.ana, "payments", NOTE)))

        async def answered(count: int) -> dict[str, object] | None:
            shown = (await api.get(f"{BANCO}/access-requests/{access_id}")).json()
            return shown if len(shown["answered_by"]) == count else None

        partly = await eventually(lambda: answered(2), timeout_s=30)
        assert partly["status"] == "in_progress" and partly["answered_by"] == ["outreach", "payments"]
        # Repeated, and another person's part (which her key does not open), change nothing.
        await world.publish((NOW, answer(access_id, world.ana, "payments", NOTE)),
                            (NOW, answer(uuid.uuid4(), world.beto, "ingest", ROW)),
                            (NOW, answer(access_id, world.ana, "ingest", ROW)))
        shown = await eventually(lambda: answered(3), timeout_s=30)
        assert shown["status"] == "completed" and shown["completed_at"] is not None
        assert shown["held_by_service"] == {
            "ingest": [{"kind": "rejected_row", "account_ref": None, "at": "2026-03-20T15:00:00Z", "where": None,
                        "values": ROW.values}],
            "outreach": [{"kind": "reply", "account_ref": "A-1", "at": "2026-03-20T15:00:00Z", "where": None,
                          "values": REPLY.values},
                         {"kind": "opt_out", "account_ref": None, "at": "2026-03-20T15:00:00Z", "where": None,
                          "values": OPT_OUT.values}],
            "payments": [{"kind": "write_off_note", "account_ref": "A-2", "at": "2026-03-20T15:00:00Z",
                          "where": None, "values": NOTE.values}]}
        # Reporting's own part, as GET …/personal-data answers it, and every read logged.
        assert shown["personal_data"]["identity"]["full_name"] == ANA.full_name  # type: ignore[index]
        assert [e["what"] for e in shown["personal_data"]["access_log"]].count("access") >= 3  # type: ignore[index]
        assert (await api.get(f"{BANCO}/debtors/{BETO.id_number}/personal-data")).status_code == 200
        elsewhere = await api.get(f"/v1/clients/telco/access-requests/{access_id}")
        assert elsewhere.status_code == 404

        # The person erased: the answers are dropped with her key, and the request answers 404.
        await world.publish((NOW, DebtorErased(erasure_id=uuid.uuid4(), debtor_ref=world.ana.debtor_ref,
                                               account_refs=["A-1", "A-2"], reason="request", erased_at=NOW)))

        async def gone() -> bool:
            return (await api.get(f"{BANCO}/access-requests/{access_id}")).status_code == 404

        await eventually(gone, timeout_s=30)
        assert (await api.get(f"{BANCO}/access-requests/{access_id}/status")).status_code == 404


async def test_following_an_access_request_is_no_read_of_the_persons_data(world: World) -> None:  # noqa: F811
    """The account page follows a request until every service answered: asking its status (no personal data in it)
    is logged nowhere, and only fetching the copy adds one entry to the person's access log."""
    await a_story(world)

    async def logged() -> int:
        async with world.platform.db.transaction() as s:
            return int(await s.scalar(text(
                "SELECT count(*) FROM reporting.access_log WHERE client_slug = 'banco' AND debtor_ref = :d"),
                {"d": world.ana.debtor_ref}) or 0)

    async with world.api() as api:
        async def placed() -> bool:
            return (await api.get(f"{BANCO}/debtors/{ANA.id_number}/personal-data")).status_code == 200

        await eventually(placed, timeout_s=30)
        started = await api.post(f"{BANCO}/debtors/{ANA.id_number}/access-requests")
        assert started.status_code == 202, started.text
        access_id = started.json()["id"]
        before = await logged()
        for _ in range(18):  # two minutes of the page's following, at once
            status = await api.get(f"{BANCO}/access-requests/{access_id}/status")
            assert status.status_code == 200, status.text
        assert status.json() == {"id": access_id, "status": "in_progress", "requested_at": status.json()["requested_at"],
                                 "completed_at": None, "answered_by": []}
        assert ANA.full_name not in status.text and ANA.id_number not in status.text
        assert await logged() == before  # nobody read the person's data yet
        copy = await api.get(f"{BANCO}/access-requests/{access_id}")
        assert copy.status_code == 200 and copy.json()["personal_data"]["identity"]["full_name"] == ANA.full_name
        assert await logged() == before + 1
        assert (await api.get(f"/v1/clients/telco/access-requests/{access_id}/status")).status_code == 404
        unknown = await api.get(f"{BANCO}/access-requests/{uuid.uuid4()}/status")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
