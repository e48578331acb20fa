"""Per-sender pacing on a real PostgreSQL (#20): with a sender at N messages a second, a campaign's many due attempts
go out at no more than that rate over simulated ticks, even with two scheduler replicas claiming at once; what the
rate holds back stays due and goes later, none dropped or failed; another sender's attempts are not held back by
it, even when the paced ones are older; and a client company's WhatsApp number sends at the rate its channel sets,
against the local fake of the Graph API."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from outreach.sending.handlers import run_due_attempts
from outreach.sending.whatsapp_answers import send_answers

from .conftest import Outreach, client_event, make_outreach, segmented
from .fake_graph_api import FakeGraphApi, serving
from .test_whatsapp_outbound import TEMPLATE, Setup, cloud, debtor_writes, placed  # noqa: F401 (cloud: a fixture)

pytestmark = pytest.mark.integration

SMS_RATE = 4  # messages a second of the platform's SMS sender in these tests (its burst: one second's worth)
CAMPAIGN = 30  # due SMS attempts, one per debtor
TICK = dt.timedelta(seconds=0.5)


@pytest.fixture
async def outreach(database_url: str) -> AsyncIterator[Outreach]:
    o, http = await make_outreach(database_url, sandbox_delivery_rate=1.0,
                                  provider_rate_per_s={"sandbox": 500.0, "sandbox/sms": float(SMS_RATE)})
    yield o
    await http.aclose()
    await o.platform.db.dispose()


async def execute(o: Outreach, statement: str, **params: Any) -> None:
    async with o.platform.db.transaction() as s:
        await s.execute(text(statement), params)


async def campaign(o: Outreach, channel: str, prefix: str, count: int) -> None:
    """`count` accounts of distinct debtors, each with one attempt on `channel` due now."""
    for i in range(count):
        ref = f"{prefix}-{i}"
        await o.deliver(await o.placed(ref, debtor=f"{prefix}{i:08d}", phones=(f"+5730012{i:05d}",),
                                       email=f"d{prefix}{i}@example.com", channels=(channel,)),
                        segmented(ref, (channel,)))
    # Only each account's first attempt is due; the cadence's later ones stay in the future.
    await execute(o, "UPDATE outreach.attempts SET scheduled_at = CAST(:at AS timestamptz) + interval '1 year' "
                  "WHERE sequence > 1 AND account_ref LIKE :p", at=o.clock.now, p=f"{prefix}-%")


async def counts(o: Outreach, prefix: str) -> dict[str, int]:
    rows = await o.sql("SELECT status, count(*) FROM outreach.attempts WHERE account_ref LIKE :p AND sequence = 1 "
                       "GROUP BY status", p=f"{prefix}-%")
    return {status: n for status, n in rows}


def sent(c: dict[str, int]) -> int:
    return c.get("sent", 0) + c.get("delivered", 0)


def paced_total(channel: str) -> float:
    return REGISTRY.get_sample_value("recaudo_outreach_sends_paced_total", {"channel": channel}) or 0.0


async def test_a_sender_sends_at_its_rate_over_ticks_and_holds_no_other_sender_back(outreach: Outreach) -> None:
    o = outreach
    await campaign(o, "sms", "S", CAMPAIGN)
    await campaign(o, "email", "E", 12)
    # The paced sender's attempts are the oldest: a claim of the oldest due would take only them.
    await execute(o, "UPDATE outreach.attempts SET scheduled_at = scheduled_at - interval '1 hour' "
                  "WHERE account_ref LIKE 'S-%' AND sequence = 1")
    assert (await counts(o, "S")) == {"scheduled": CAMPAIGN}
    paced_before = paced_total("sms")
    start = o.clock.now

    async def replicas_tick() -> None:
        """Two scheduler replicas claim at the same instant, each with a batch of at most 10."""
        await asyncio.gather(*(run_due_attempts(o.platform.db, o.providers, o.settings, now=o.clock.now, limit=10)
                               for _ in range(2)))

    await replicas_tick()
    # The other sender went at once, with a batch smaller than the paced sender's queue; the paced one sent its burst.
    assert sent(await counts(o, "E")) == 12
    first = await counts(o, "S")
    assert sent(first) == SMS_RATE and first["scheduled"] == CAMPAIGN - SMS_RATE
    assert paced_total("sms") > paced_before  # what the rate held back is counted, by channel only

    history = [sent(first)]
    while sent(await counts(o, "S")) < CAMPAIGN:
        assert len(history) < 60, history
        o.clock.now += TICK
        await replicas_tick()
        elapsed = (o.clock.now - start).total_seconds()
        history.append(sent(await counts(o, "S")))
        # Never more than the burst plus the rate since the start, across both replicas.
        assert history[-1] <= SMS_RATE + SMS_RATE * elapsed, (elapsed, history)
    # Every one went, in the end: none dropped, failed or cancelled, and not faster than the rate allows.
    assert await counts(o, "S") == {"delivered": CAMPAIGN}
    elapsed = (o.clock.now - start).total_seconds()
    assert elapsed >= (CAMPAIGN - SMS_RATE) / SMS_RATE
    # Held back, an attempt was left as it was: one decision each (when it went), never a reschedule.
    rows = await o.sql("SELECT count(*), count(DISTINCT d.attempt_id) FROM outreach.decisions d "
                       "JOIN outreach.attempts a ON a.id = d.attempt_id WHERE a.account_ref LIKE 'S-%'")
    assert rows == [(CAMPAIGN, CAMPAIGN)]
    trail = await o.sql("SELECT kind, count(*) FROM outreach.trail WHERE account_ref LIKE 'S-%' "
                        "AND kind IN ('rescheduled', 'cancelled', 'failed') GROUP BY kind")
    assert trail == []


async def test_client_companies_on_one_sender_share_its_rate(outreach: Outreach) -> None:
    """The platform's SMS sender is one number for every client company: together they stay within its rate."""
    o = outreach
    await o.deliver(client_event("coop"))
    await campaign(o, "sms", "S", 8)
    for i in range(8):
        ref = f"C-{i}"
        await o.deliver(await o.placed(ref, client="coop", debtor=f"C{i:08d}", phones=(f"+5730099{i:05d}",),
                                       channels=("sms",)), segmented(ref, ("sms",)), client="coop")
    await o.tick()
    together = sent(await counts(o, "S")) + sent(await counts(o, "C"))
    assert together == SMS_RATE
    assert sent(await counts(o, "S")) >= 1 and sent(await counts(o, "C")) >= 1  # shared fairly, not first come


async def test_a_client_companys_whatsapp_number_sends_at_the_rate_its_channel_sets(database_url: str) -> None:
    graph = FakeGraphApi()
    async with serving(graph) as base_url:
        o, http = await make_outreach(database_url, public_url="http://outreach.test")
        try:
            body = {"kind": "whatsapp_cloud", "phone_number_id": graph.phone_number_id, "access_token": graph.token,
                    "app_secret": "meta-app-secret", "verify_token": "verify-me", "api_base_url": base_url,
                    "api_version": graph.version}
            for wrong in (0, -1, 1001):
                answer = await o.http.put("/v1/clients/banco/channels/whatsapp", headers=o.auth,
                                          json={**body, "messages_per_second": wrong})
                assert answer.status_code == 422, answer.text
            answer = await o.http.put("/v1/clients/banco/channels/whatsapp", headers=o.auth,
                                      json={**body, "messages_per_second": 2})
            assert answer.status_code in (200, 201), answer.text
            assert answer.json()["messages_per_second"] == 2
            assert (await o.http.get("/v1/clients/banco/channels/whatsapp", headers=o.auth)
                    ).json()["messages_per_second"] == 2
            answer = await o.http.put("/v1/clients/banco/templates/whatsapp/es-CO/approved", headers=o.auth,
                                      json=TEMPLATE)
            assert answer.status_code == 200, answer.text
            await campaign(o, "whatsapp", "W", 5)

            await o.tick()
            assert len(graph.taken) == 2 and (await counts(o, "W"))["scheduled"] == 3
            o.clock.now += TICK  # one more message's worth earned: 2 a second
            await o.tick()
            assert len(graph.taken) == 3
            await o.tick()  # the same instant again: nothing more earned, nothing more sent
            assert len(graph.taken) == 3
            o.clock.now += dt.timedelta(seconds=60)  # a long quiet spell earns one burst, never more
            await o.tick()
            assert len(graph.taken) == 5 and "scheduled" not in await counts(o, "W")
        finally:
            await http.aclose()
            await o.platform.db.dispose()


async def test_answers_go_at_once_and_the_campaign_makes_room_for_them(cloud: Setup) -> None:  # noqa: F811
    """A debtor waiting for the payment link is never held back by the number's rate, but the answer spends from
    the number's bucket: the campaign's claim at that instant sends one message fewer."""
    c = cloud
    await execute(c.o, "UPDATE outreach.whatsapp_channels SET messages_per_second = 2")
    await campaign(c.o, "whatsapp", "V", 3)
    await placed(c, "W-1")  # the debtor who writes
    await execute(c.o, "UPDATE outreach.attempts SET scheduled_at = scheduled_at + interval '1 year' "
                  "WHERE account_ref = 'W-1' AND sequence > 1")
    await debtor_writes(c, "Pagar")
    assert await send_answers(c.o.platform.db, c.o.providers, c.o.settings, now=c.o.clock.now) == 1
    assert len(c.graph.taken) == 1
    await c.o.tick()
    assert len(c.graph.taken) == 2  # the number's 2 a second: the answer and one campaign message
    c.o.clock.now += dt.timedelta(seconds=1)
    await c.o.tick()
    assert len(c.graph.taken) == 4
