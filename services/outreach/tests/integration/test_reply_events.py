"""A debtor's answer is announced as contact.replied (#22), for segmentation's propensity model: once per attempt
answered, never its text, never for an answer that opts out, and marked simulated when the sandbox drew it."""

import json

import pytest

from outreach.providers import Receipt
from outreach.receipts.handlers import apply_receipt

from .conftest import Outreach, segmented
from .test_replies import reply

pytestmark = pytest.mark.integration


async def replied_events(o: Outreach) -> list[tuple[str, dict[str, object]]]:
    rows = await o.sql("SELECT envelope->'payload'->>'account_ref', envelope->'payload' FROM outreach.outbox "
                       "WHERE envelope->>'type' = 'contact.replied' ORDER BY id")
    return [(r[0], r[1]) for r in rows]


async def test_an_answer_is_announced_once_without_its_text_and_an_opt_out_is_not(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("R-1"), segmented("R-1", ("sms",)))
    outreach.settings.sandbox_delivery_rate = 1.0
    await outreach.tick()
    [(attempt_id,)] = await outreach.sql("SELECT id FROM outreach.attempts WHERE account_ref = 'R-1' "
                                         "AND sent_at IS NOT NULL")
    await reply(outreach, "in-1", "Ya pagué, gracias")
    await reply(outreach, "in-2", "¿Cuánto debo?")  # a second answer to the same attempt: not announced again
    [(ref, payload)] = await replied_events(outreach)
    assert ref == "R-1" and payload == {"attempt_id": str(attempt_id), "account_ref": "R-1", "channel": "sms",
                                        "replied_at": payload["replied_at"], "simulated": True}  # the sandbox's
    assert "pagué" not in json.dumps(payload) and "Cuánto" not in json.dumps(payload)

    # A real provider's answer (Twilio's inbound SMS, as its webhook hands it over) is no simulation.
    await outreach.deliver(await outreach.placed("R-2", debtor="2020202020", phones=("+573002020202",)), segmented("R-2", ("sms",)))
    await outreach.tick()
    [(second,)] = await outreach.sql("SELECT id FROM outreach.attempts WHERE account_ref = 'R-2' "
                                     "AND sent_at IS NOT NULL")
    [(number,)] = await outreach.sql("SELECT recipient FROM outreach.outgoing WHERE attempt_id = :a", a=second)
    async with outreach.platform.db.transaction() as s:
        assert await apply_receipt(s, "twilio", Receipt(message_id="SM-in-3", status="reply", detail="Pago mañana",
                                                        reply_from=number, reply_channel="sms"),
                                   outreach.clock.now) == "applied"
    assert [(r, p["simulated"]) for r, p in await replied_events(outreach)] == [("R-1", True), ("R-2", False)]

    # An answer that opts out is an opt-out (contact.opted_out), not a reply.
    await outreach.deliver(await outreach.placed("R-3", debtor="3030303030", phones=("+573003030303",)), segmented("R-3", ("sms",)))
    await outreach.tick()
    [(third,)] = await outreach.sql("SELECT id FROM outreach.attempts WHERE account_ref = 'R-3' "
                                    "AND sent_at IS NOT NULL")
    [(number,)] = await outreach.sql("SELECT recipient FROM outreach.outgoing WHERE attempt_id = :a", a=third)
    async with outreach.platform.db.transaction() as s:
        await apply_receipt(s, "twilio", Receipt(message_id="SM-in-4", status="reply", detail="BAJA",
                                                 reply_from=number, reply_channel="sms"), outreach.clock.now)
    assert [r for r, _ in await replied_events(outreach)] == ["R-1", "R-2"]
    [(status,)] = await outreach.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=third)
    assert status == "replied"


async def test_a_stop_to_a_number_two_client_companies_write_to_opts_it_out_at_both(outreach: Outreach) -> None:
    from .conftest import client_event

    await outreach.deliver(client_event("otro-banco"), client="otro-banco")
    number = "+573004040404"
    await outreach.deliver(await outreach.placed("S-1", debtor="4040404040", phones=(number,)),
                           segmented("S-1", ("sms",)))
    await outreach.tick()
    await outreach.deliver(await outreach.placed("S-2", client="otro-banco", debtor="4040404040", phones=(number,)),
                           client="otro-banco")
    # The last message to the number was banco's; the STOP may have been meant for otro-banco's (one sender).
    async with outreach.platform.db.transaction() as s:
        assert await apply_receipt(s, "twilio", Receipt(message_id="SM-in-9", status="reply", detail="BAJA",
                                                        reply_from=number, reply_channel="sms"),
                                   outreach.clock.now) == "applied"
    assert sorted(await outreach.sql(
        "SELECT a.account_ref, o.channel, o.source FROM outreach.opt_outs o JOIN outreach.accounts a "
        "ON a.client_slug = o.client_slug AND a.debtor_id = o.debtor_id WHERE a.account_ref LIKE 'S-%'")) == [
        ("S-1", "sms", "reply"), ("S-2", "sms", "reply")]
