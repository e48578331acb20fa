"""A debtor's answer ends its attempt's life as `replied`: once, through the state machine, proving the delivery
no receipt had confirmed yet (its contact.delivered under the attempt's plan), and leaving a later receipt
nothing to settle."""

import json

import pytest

from recaudo_common.webhook_signatures import sign

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration
PHONE = "+573001234567"


async def reply(o: Outreach, message_id: str, text: str = "Ya pagué, gracias") -> None:
    raw = json.dumps({"message_id": message_id, "status": "reply", "detail": text, "reply_from": PHONE,
                      "channel": "sms"}).encode()
    signed = {"Recaudo-Signature": sign(raw, o.settings.sandbox_gateway_secret, o.clock.now)}
    answer = await o.http.post("/v1/webhooks/outreach/sandbox", content=raw, headers=signed)
    assert answer.status_code == 200, answer.text


async def receipt(o: Outreach, message_id: str) -> None:
    raw = json.dumps({"message_id": message_id, "status": "delivered"}).encode()
    signed = {"Recaudo-Signature": sign(raw, o.settings.sandbox_gateway_secret, o.clock.now)}
    assert (await o.http.post("/v1/webhooks/outreach/sandbox", content=raw, headers=signed)).status_code == 200


async def delivered_events(o: Outreach, attempt_id: object) -> list[tuple[str, str, str | None]]:
    return [tuple(r) for r in await o.sql(
        "SELECT envelope->>'type', envelope->>'correlation_id', envelope->>'causation_id' FROM outreach.outbox "
        "WHERE envelope->>'type' = 'contact.delivered' AND envelope->'payload'->>'attempt_id' = :a",
        a=str(attempt_id))]


async def test_an_answer_to_a_message_no_receipt_confirmed_proves_its_delivery_once(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("R-1"), segmented("R-1", ("sms",)))
    outreach.settings.sandbox_delivery_rate = 1.0
    await outreach.tick()
    [(attempt_id, message_id, plan_id, correlation_id)] = await outreach.sql(
        "SELECT id, provider_message_id, plan_id, correlation_id FROM outreach.attempts WHERE account_ref = 'R-1'"
        " AND sent_at IS NOT NULL")
    # As a real provider's message stands until its receipt comes: sent, no delivery known, no event for it.
    await outreach.sql("UPDATE outreach.attempts SET status = 'sent', delivered_at = NULL WHERE id = :a "
                       "RETURNING 1", a=attempt_id)
    await outreach.sql("DELETE FROM outreach.outbox WHERE envelope->>'type' = 'contact.delivered' RETURNING 1")

    await reply(outreach, "in-r1")
    [(status, delivered_at)] = await outreach.sql(
        "SELECT status, delivered_at FROM outreach.attempts WHERE id = :a", a=attempt_id)
    assert (status, delivered_at) == ("replied", outreach.clock.now)
    assert await delivered_events(outreach, attempt_id) == [("contact.delivered", str(correlation_id), str(plan_id))]

    await receipt(outreach, message_id)  # the receipt, late: the answer already settled it
    await reply(outreach, "in-r1b", "¿Cuánto debo?")  # a second answer changes nothing
    [(status,)] = await outreach.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id)
    assert status == "replied"
    assert len(await delivered_events(outreach, attempt_id)) == 1
    [(replies,)] = await outreach.sql("SELECT count(*) FROM outreach.replies WHERE attempt_id = :a", a=attempt_id)
    assert replies == 2  # both answers are kept beside the attempt


async def test_an_answer_to_a_delivered_message_makes_it_replied_without_a_second_delivery(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("R-2"), segmented("R-2", ("sms",)))
    outreach.settings.sandbox_delivery_rate = 1.0
    await outreach.tick()
    [(attempt_id, delivered_at)] = await outreach.sql(
        "SELECT id, delivered_at FROM outreach.attempts WHERE account_ref = 'R-2' AND status = 'delivered'")
    before = len(await delivered_events(outreach, attempt_id))
    await reply(outreach, "in-r2")
    [(status, still)] = await outreach.sql("SELECT status, delivered_at FROM outreach.attempts WHERE id = :a",
                                           a=attempt_id)
    assert (status, still) == ("replied", delivered_at)
    assert len(await delivered_events(outreach, attempt_id)) == before == 1
    history = (await outreach.http.get("/v1/clients/banco/accounts/R-2/contacts", headers=outreach.auth)).json()
    assert "replied" in json.dumps(history)
