"""Contacts with one debtor are decided one at a time (the law's daily and weekly limits count every contact of a
debtor, over all their accounts): the scheduler's claim of an SMS and agents asking for their next call at the
same moment never both contact a Colombian debtor on the same day, through outreach's real PostgreSQL."""

import asyncio
import datetime as dt
import uuid
import zoneinfo

import pytest

from outreach.agent_desk.handlers import Agent, next_for_agent
from outreach.sending.handlers import claim_due

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration


async def test_an_sms_claim_and_agents_asking_at_once_contact_each_debtor_once_a_day(outreach: Outreach) -> None:
    outreach.clock.now = dt.datetime(2026, 3, 4, 10, 0, tzinfo=zoneinfo.ZoneInfo("America/Bogota"))  # a Wednesday
    debtors = [f"55{i:08d}" for i in range(12)]
    for i, debtor in enumerate(debtors):
        # Each debtor has an account worked by SMS and another by agents, both due now.
        await outreach.deliver(await outreach.placed(f"T-{i}", debtor=debtor, channels=("sms",)),
                               segmented(f"T-{i}", ("sms",)),
                               await outreach.placed(f"C-{i}", debtor=debtor, channels=("agent",)),
                               segmented(f"C-{i}", ("agent",), value="900000"))
    db, settings, now = outreach.platform.db, outreach.settings, outreach.clock.now
    agents = [Agent(uuid.uuid4(), f"key agente-{n}") for n in range(len(debtors))]
    await asyncio.gather(claim_due(db, outreach.providers, settings, now=now, limit=100),
                         *[next_for_agent(db, settings, client="banco", agent=a, now=now) for a in agents])
    per_debtor = dict(await outreach.sql(
        "SELECT debtor_id, count(*) FROM outreach.contacts WHERE at = :now GROUP BY debtor_id", now=now))
    assert len(per_debtor) == len(debtors)  # each was contacted, by one channel or the other
    assert set(per_debtor.values()) == {1}, per_debtor
