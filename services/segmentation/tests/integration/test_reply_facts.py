"""Outreach's contact.replied reaches the account's history on a real PostgreSQL through segmentation's consumer:
a debtor's reply is a `replied` fact the propensity model counts; the sandbox's drawn replies are not kept."""

import uuid

import pytest

from recaudo_common.events import ContactReplied
from recaudo_common.runtime import Platform
from segmentation import model_store

from .test_aging import CLIENT, LATE_EVENING, deliver, placed

pytestmark = pytest.mark.integration


async def test_a_reply_is_kept_in_the_history_and_a_simulated_one_is_not(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("A-1", 40)], LATE_EVENING)
    await deliver(platform, [
        ContactReplied(attempt_id=uuid.uuid4(), account_ref="A-1", channel="sms", replied_at=LATE_EVENING),
        ContactReplied(attempt_id=uuid.uuid4(), account_ref="A-1", channel="whatsapp", replied_at=LATE_EVENING,
                       simulated=True)], LATE_EVENING)
    async with platform.db.transaction() as s:
        [history] = await model_store.histories(s, "banco", ["A-1"])
    assert [(f.kind, f.channel, f.at) for f in history.facts if f.kind == "replied"] == [
        ("replied", "sms", LATE_EVENING)]
