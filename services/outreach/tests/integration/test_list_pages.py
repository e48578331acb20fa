"""Outreach's lists paged as every list is (#23): the agent desk's WhatsApp queue and the sends in doubt are read
page by page following `next` (none twice, none missed, in the list's order, the Link header on each page but the
last), and a cursor they never gave is a 422 invalid_cursor."""

from __future__ import annotations

import datetime as dt

import pytest

from recaudo_common.testing_pages import assert_invalid_cursors_refused, walk_pages

from .conftest import Outreach, segmented
from .test_whatsapp_inbound import notification, post, sent_whatsapp, text_message, webhook_path

pytestmark = pytest.mark.integration


async def test_the_whatsapp_queue_is_read_page_by_page_oldest_first(outreach: Outreach) -> None:
    outreach.settings.sandbox_delivery_rate = 1.0
    path = await webhook_path(outreach)
    await sent_whatsapp(outreach, "W-1", "wamid.OUT1")
    for i in range(5):
        outreach.clock.now += dt.timedelta(minutes=1)
        answer = await post(outreach, path, notification(messages=[text_message(f"¿Puedo pagar el día {i}?",
                                                                                f"wamid.Q{i}")]))
        assert answer.status_code == 200, answer.text
    url = "/v1/clients/banco/whatsapp/conversations"
    items, pages = await walk_pages(outreach.http, url, limit=2, headers=outreach.auth)
    assert pages == 3 and [c["text"] for c in items] == [f"¿Puedo pagar el día {i}?" for i in range(5)]
    await assert_invalid_cursors_refused(outreach.http, url, ("2026-03-31T15:00:00+00:00", "W-1"),
                                         ("ayer", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"), headers=outreach.auth)


async def test_the_sends_in_doubt_are_read_page_by_page_oldest_first_unclaimed_last(outreach: Outreach) -> None:
    refs = [f"U-{i}" for i in range(5)]
    for n, ref in enumerate(refs):
        await outreach.deliver(await outreach.placed(ref, debtor=f"10203040{n}"), segmented(ref, ("sms",)))
    await outreach.tick()
    # Made sends in doubt as a crash leaves them: claimed at different moments, and two never claimed at all.
    for n, ref in enumerate(refs):
        since = None if n >= 3 else outreach.clock.now - dt.timedelta(minutes=10 - n)
        assert await outreach.sql("UPDATE outreach.attempts SET status = 'unknown', sending_since = :t WHERE id = ("
                                  "SELECT id FROM outreach.attempts WHERE account_ref = :r "
                                  "ORDER BY scheduled_at, sequence LIMIT 1) RETURNING id", t=since, r=ref)
    url = "/v1/clients/banco/unknown-sends"
    everything = (await outreach.http.get(url, headers=outreach.auth)).json()["items"]
    items, pages = await walk_pages(outreach.http, url, limit=2, headers=outreach.auth)
    assert pages == 3 and items == everything
    assert [u["account_ref"] for u in items[:3]] == refs[:3] and sorted(u["account_ref"] for u in items[3:]) == [
        "U-3", "U-4"] and [u["sending_since"] for u in items[3:]] == [None, None]
    await assert_invalid_cursors_refused(outreach.http, url, ("2026-03-31T15:00:00+00:00", "U-1"),
                                         ("2026-03-31T15:00:00", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"),
                                         headers=outreach.auth)
