"""WhatsApp through Meta's Cloud API, on outreach's real sending path (a real PostgreSQL, events through the
consumer runtime, the scheduler's claim and send) against a local fake of the Graph API that checks the path, the
bearer token and the JSON body Meta documents: a template outside the 24-hour window, the message with reply
buttons inside it (the debtor wrote through the signed webhook), a re-engagement error failing the attempt for
good, a rate limit retried with backoff, an expired token failing without retries; and the answers the webhook
queues (the payment link) sent once inside the window."""

import asyncio
import datetime as dt
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from outreach.domain.whatsapp import hub_signature
from outreach.sending.whatsapp_answers import send_answers
from outreach.whatsapp.handlers import _apply_statuses
from outreach.whatsapp.schemas import MetaNotification
from outreach.whatsapp.store import ChannelSettings, put_channel
from recaudo_common.personal_data import MasterKeyring

from .conftest import Outreach, make_outreach, segmented
from .fake_graph_api import FakeGraphApi, graph_error, serving, status_notification

pytestmark = pytest.mark.integration

APP_SECRET = "meta-app-secret"
TEMPLATE = {"name": "cobro_saldo_v2", "language": "es",
            "parameters": ["debtor_name", "creditor", "balance", "payment_link"],
            "buttons": ["pay", "arrange", "dispute", "opt_out"]}


@dataclass
class Setup:
    o: Outreach
    graph: FakeGraphApi
    webhook: str


@pytest.fixture
async def cloud(database_url: str) -> AsyncIterator[Setup]:
    graph = FakeGraphApi()
    async with serving(graph) as base_url:
        o, http = await make_outreach(database_url, public_url="http://outreach.test", retry_backoff_s=60,
                                      max_send_tries=3)
        try:
            answer = await o.http.put("/v1/clients/banco/channels/whatsapp", headers=o.auth, json={
                "kind": "whatsapp_cloud", "phone_number_id": graph.phone_number_id, "access_token": graph.token,
                "app_secret": APP_SECRET, "verify_token": "verify-me", "api_base_url": base_url,
                "api_version": graph.version})
            assert answer.status_code in (200, 201), answer.text
            webhook = urlsplit(answer.json()["webhook_url"]).path
            answer = await o.http.put("/v1/clients/banco/templates/whatsapp/es-CO/approved", headers=o.auth,
                                      json=TEMPLATE)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"locale": "es-CO", **TEMPLATE}
            yield Setup(o, graph, webhook)
        finally:
            await http.aclose()
            await o.platform.db.dispose()


async def debtor_writes(c: Setup, text: str = "Buenas tardes") -> None:
    """The debtor's message as Meta's webhook posts it, signed with the app secret."""
    raw = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": c.graph.phone_number_id},
            "contacts": [{"profile": {"name": "María"}, "wa_id": "573001234567"}],
            "messages": [{"from": "573001234567", "id": "wamid.INBOUND1", "type": "text",
                          "timestamp": str(int(c.o.clock.now.timestamp())), "text": {"body": text}}]}}]}]}
                     ).encode()
    answer = await c.o.http.post(c.webhook, content=raw, headers={
        "content-type": "application/json", "X-Hub-Signature-256": hub_signature(APP_SECRET, raw)})
    assert answer.status_code == 200, answer.text


async def placed(c: Setup, ref: str = "W-1") -> None:
    await c.o.deliver(await c.o.placed(ref, channels=("whatsapp",)), segmented(ref, ("whatsapp",)))


async def attempt(c: Setup, ref: str = "W-1") -> Any:
    [row] = await c.o.sql("SELECT status, provider, provider_message_id, failure, scheduled_at, tries "
                          "FROM outreach.attempts WHERE account_ref = :r AND sequence = 1", r=ref)
    return row


async def events(c: Setup) -> list[str]:
    return [r[0] for r in await c.o.sql("SELECT envelope->>'type' FROM outreach.outbox WHERE envelope->>'type' "
                                        "LIKE 'contact.%' AND envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready') "
                                        "ORDER BY id")]


async def test_outside_the_window_the_approved_template_goes_out_as_documented(cloud: Setup) -> None:
    c = cloud
    await placed(c)
    assert await c.o.tick() == 1
    [posted] = c.graph.posted
    assert posted.path == f"/{c.graph.version}/{c.graph.phone_number_id}/messages"
    assert posted.authorization == f"Bearer {c.graph.token}"
    assert posted.content_type == "application/json"
    link = posted.body["template"]["components"][0]["parameters"][3]["text"]
    assert re.fullmatch(r"http://outreach\.test/pay/[A-Za-z0-9_.=-]+", link)
    [(attempt_id,)] = await c.o.sql("SELECT id FROM outreach.attempts WHERE account_ref = 'W-1' AND sequence = 1")
    assert posted.body == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567", "type": "template",
        "biz_opaque_callback_data": str(attempt_id),  # returned in the message's statuses
        "template": {"name": "cobro_saldo_v2", "language": {"code": "es"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "María"},
                                            {"type": "text", "text": "Banco Andino"},
                                            {"type": "text", "text": "$1.500.000,00"},
                                            {"type": "text", "text": link}]},
            {"type": "button", "sub_type": "quick_reply", "index": "0",
             "parameters": [{"type": "payload", "payload": "pay_now"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1",
             "parameters": [{"type": "payload", "payload": "arrange_payment"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "2",
             "parameters": [{"type": "payload", "payload": "dispute_debt"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "3",
             "parameters": [{"type": "payload", "payload": "opt_out"}]}]}}
    status, provider, message_id, _, _, _ = await attempt(c)
    assert (status, provider, message_id) == ("sent", "whatsapp_cloud", posted.message_id)
    [(detail,)] = await c.o.sql("SELECT detail FROM outreach.trail WHERE kind = 'sending'")
    assert detail["provider"] == "whatsapp_cloud" and detail["whatsapp"] == "template"
    assert await events(c) == ["contact.attempted"]


async def test_inside_the_window_the_message_with_reply_buttons(cloud: Setup) -> None:
    c = cloud
    await placed(c)
    await debtor_writes(c)  # the debtor wrote first: the window is open for 24 hours
    c.o.clock.now += dt.timedelta(hours=1)
    assert await c.o.tick() == 1
    [posted] = c.graph.posted
    assert posted.authorization == f"Bearer {c.graph.token}"
    interactive = posted.body["interactive"]
    [(attempt_id,)] = await c.o.sql("SELECT id FROM outreach.attempts WHERE account_ref = 'W-1' AND sequence = 1")
    assert posted.body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567",
                           "biz_opaque_callback_data": str(attempt_id), "type": "interactive",
                           "interactive": interactive}
    assert interactive["type"] == "button" and interactive["action"] == {"buttons": [
        {"type": "reply", "reply": {"id": "pay_now", "title": "Pagar ahora"}},
        {"type": "reply", "reply": {"id": "arrange_payment", "title": "Acordar un pago"}},
        {"type": "reply", "reply": {"id": "dispute_debt", "title": "No reconozco deuda"}}]}
    [(body,)] = await c.o.sql("SELECT body FROM outreach.outgoing")
    assert interactive["body"]["text"].startswith(body) and "Hola María" in body
    assert interactive["body"]["text"].endswith("Responda BAJA para no recibir más mensajes.")
    assert (await attempt(c))[:3] == ("sent", "whatsapp_cloud", posted.message_id)
    [(detail,)] = await c.o.sql("SELECT detail FROM outreach.trail WHERE kind = 'sending'")
    assert detail["whatsapp"] == "interactive"


async def test_a_window_closed_since_the_debtor_wrote_takes_the_template_again(cloud: Setup) -> None:
    c = cloud
    await placed(c)
    await debtor_writes(c)
    c.o.clock.now += dt.timedelta(hours=24, minutes=1)
    await c.o.tick()
    [posted] = c.graph.posted
    assert posted.body["type"] == "template" and posted.body["template"]["name"] == "cobro_saldo_v2"


async def test_re_engagement_required_fails_the_attempt_for_good(cloud: Setup) -> None:
    c = cloud
    await placed(c)
    await debtor_writes(c)
    c.o.clock.now += dt.timedelta(hours=1)
    c.graph.errors.append(graph_error(131047, "(#131047) Re-engagement message"))
    await c.o.tick()
    status, _, message_id, failure, _, _ = await attempt(c)
    assert status == "failed" and message_id is None
    assert "code 131047: re-engagement required" in failure and "Re-engagement message" not in failure
    assert await events(c) == ["contact.failed"]
    c.o.clock.now += dt.timedelta(minutes=30)
    await c.o.tick()
    assert len(c.graph.posted) == 1  # never posted again


async def test_a_rate_limit_is_retried_with_backoff(cloud: Setup) -> None:
    c = cloud
    await placed(c)
    c.graph.errors.append(graph_error(130429, "(#130429) Rate limit hit"))
    sent_at = c.o.clock.now
    await c.o.tick()
    status, _, _, failure, scheduled_at, tries = await attempt(c)
    assert (status, tries) == ("scheduled", 1) and scheduled_at == sent_at + dt.timedelta(seconds=60)
    assert "code 130429: rate limited" in failure
    [(retry,)] = await c.o.sql("SELECT detail FROM outreach.trail WHERE kind = 'send_retry'")
    assert retry["retry_at"] == (sent_at + dt.timedelta(seconds=60)).isoformat()
    c.o.clock.now += dt.timedelta(seconds=30)
    await c.o.tick()
    assert len(c.graph.posted) == 1  # not before the backoff
    c.o.clock.now += dt.timedelta(seconds=31)
    await c.o.tick()
    assert [p.message_id is None for p in c.graph.posted] == [True, False]
    assert (await attempt(c))[:3] == ("sent", "whatsapp_cloud", c.graph.posted[1].message_id)
    assert await events(c) == ["contact.attempted"]


async def test_an_expired_token_fails_with_a_clear_reason_and_no_retry(cloud: Setup) -> None:
    c = cloud
    await placed(c)
    c.graph.token = "rotated-at-meta"  # the token configured is no longer valid there
    await c.o.tick()
    status, _, _, failure, _, tries = await attempt(c)
    assert (status, tries) == ("failed", 1)
    assert "401, code 190: access token expired or invalid: reconfigure the client company's WhatsApp" in failure
    assert "EAAG" not in failure  # the token itself is never in a reason


async def test_without_an_approved_template_nothing_is_posted_outside_the_window(cloud: Setup) -> None:
    c = cloud
    await c.o.sql("DELETE FROM outreach.whatsapp_templates RETURNING locale")
    await placed(c)
    await c.o.tick()
    status, _, _, failure, _, _ = await attempt(c)
    assert status == "failed" and failure.startswith("whatsapp_template_missing")
    assert c.graph.posted == []


async def test_a_template_mapping_is_refused_with_every_problem(cloud: Setup) -> None:
    answer = await cloud.o.http.put("/v1/clients/banco/templates/whatsapp/es-CO/approved", headers=cloud.o.auth,
                                    json={"name": "Cobro Saldo", "language": "spanish", "parameters": ["saldo"],
                                          "buttons": ["pay", "call"]})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "invalid_whatsapp_template"
    for words in ("name:", "language:", "unknown variable(s): saldo", "unknown button(s): call"):
        assert words in problem["detail"]
    kept = await cloud.o.http.get("/v1/clients/banco/templates/whatsapp/es-CO/approved", headers=cloud.o.auth)
    assert kept.json()["name"] == "cobro_saldo_v2"  # the one in force is unchanged
    missing = await cloud.o.http.get("/v1/clients/banco/templates/whatsapp/en-US/approved", headers=cloud.o.auth)
    assert missing.status_code == 404


async def test_a_client_company_without_the_cloud_api_keeps_the_settings_provider(database_url: str) -> None:
    o, http = await make_outreach(database_url)
    try:
        await o.deliver(await o.placed("W-9", channels=("whatsapp",)), segmented("W-9", ("whatsapp",)))
        assert await o.tick() == 1
        assert await o.sql("SELECT status, provider FROM outreach.attempts WHERE account_ref = 'W-9' "
                           "AND sequence = 1") == [("delivered", "sandbox")]
    finally:
        await http.aclose()
        await o.platform.db.dispose()


async def answers(c: Setup) -> int:
    """The scheduler's pass over the answers the webhook queued (main.build runs it after each claim)."""
    return await send_answers(c.o.platform.db, c.o.providers, c.o.settings, now=c.o.clock.now)


async def test_a_debtor_who_asks_to_pay_gets_the_payment_link_once(cloud: Setup) -> None:
    c = cloud
    await placed(c)
    await debtor_writes(c, "Pagar")
    assert await answers(c) == 1
    [posted] = c.graph.posted
    body = posted.body["text"]["body"]
    assert posted.path == f"/{c.graph.version}/{c.graph.phone_number_id}/messages"
    assert posted.authorization == f"Bearer {c.graph.token}"
    assert posted.body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567",
                           "biz_opaque_callback_data": posted.body["biz_opaque_callback_data"], "type": "text",
                           "text": {"body": body}}
    uuid.UUID(posted.body["biz_opaque_callback_data"])  # the answer's own id: it names no attempt
    assert re.search(r"http://outreach\.test/pay/\S+", body)
    assert await answers(c) == 0 and len(c.graph.posted) == 1  # never twice
    [(detail,)] = await c.o.sql("SELECT detail FROM outreach.trail WHERE kind = 'whatsapp_answer_sent'")
    assert detail["provider_message_id"] == posted.message_id and "body" not in detail


async def test_a_rate_limited_answer_goes_after_the_backoff(cloud: Setup) -> None:
    c = cloud
    await placed(c)
    await debtor_writes(c, "Pagar")
    c.graph.errors.append(graph_error(130429, "(#130429) Rate limit hit"))
    assert await answers(c) == 1
    [(retry,)] = await c.o.sql("SELECT detail FROM outreach.trail WHERE kind = 'whatsapp_answer_retry'")
    assert "code 130429" in retry["reason"]
    c.o.clock.now += dt.timedelta(seconds=30)
    assert await answers(c) == 0
    c.o.clock.now += dt.timedelta(seconds=31)
    assert await answers(c) == 1
    assert [p.message_id is None for p in c.graph.posted] == [True, False]
    assert await c.o.sql("SELECT count(*) FROM outreach.trail WHERE kind = 'whatsapp_answer_sent'") == [(1,)]


async def test_an_answer_whose_window_closed_is_not_sent(cloud: Setup) -> None:
    c = cloud
    await placed(c)
    await debtor_writes(c, "Pagar")
    c.o.clock.now += dt.timedelta(hours=24)
    assert await answers(c) == 1
    assert c.graph.posted == []
    [(failed,)] = await c.o.sql("SELECT detail FROM outreach.trail WHERE kind = 'whatsapp_answer_failed'")
    assert failed["reason"] == "the 24-hour window closed before the answer went"


async def test_in_production_the_cloud_api_serves_its_client_and_never_sends_the_token_in_clear(
        database_url: str) -> None:
    """The settings' WhatsApp is off (no sandbox in production), yet the client company on the Cloud API is routed
    to it. Its API URL is plain HTTP (kept from before production: the API refuses one now), so the bearer token
    is not sent: the attempt fails saying why."""
    graph = FakeGraphApi()
    async with serving(graph) as base_url:
        o, http = await make_outreach(database_url, environment="production", providers={},
                                      public_url="https://outreach.test")
        try:
            given = {"phone_number_id": graph.phone_number_id, "access_token": graph.token, "app_secret": APP_SECRET,
                     "verify_token": "verify-me", "api_base_url": base_url, "api_version": graph.version}
            answer = await o.http.put("/v1/clients/banco/channels/whatsapp", headers=o.auth,
                                      json={"kind": "whatsapp_cloud", **given})
            assert answer.json()["code"] == "insecure_api_url"
            async with o.platform.db.transaction() as s:
                await put_channel(s, MasterKeyring.of_settings(o.settings), "banco", ChannelSettings(**given), "hook-1",
                                  o.clock.now)
            await o.http.put("/v1/clients/banco/templates/whatsapp/es-CO/approved", headers=o.auth, json=TEMPLATE)
            await o.deliver(await o.placed("P-W", channels=("whatsapp",)), segmented("P-W", ("whatsapp",)))
            assert await o.tick() == 1
            [(status, provider, failure)] = await o.sql(
                "SELECT status, provider, failure FROM outreach.attempts WHERE account_ref = 'P-W' AND sequence = 1")
            assert (status, provider) == ("failed", "whatsapp_cloud")
            assert "not HTTPS: the access token is not sent in clear" in failure
            assert graph.posted == []
        finally:
            await http.aclose()
            await o.platform.db.dispose()


async def test_a_send_whose_answer_never_came_is_unknown_until_its_status_names_its_attempt(database_url: str
                                                                                           ) -> None:
    """Meta took the message but the answer was lost (the call timed out): the Cloud API documents no look-up, so
    once the lease expires the attempt is `unknown` with the reason, and nothing is posted a second time. The send
    carried its attempt's id as `biz_opaque_callback_data`; Meta returns it in the message's statuses, so the first
    status settles the attempt `sent` under the id the lost answer held, then `delivered`, and it leaves the
    operators' list. The same status through another client company's webhook settles nothing."""
    graph = FakeGraphApi(hold=asyncio.Event())
    async with serving(graph) as base_url:
        o, http = await make_outreach(database_url, provider_timeout_s=0.5, sending_timeout_s=5)
        try:
            answer = await o.http.put("/v1/clients/banco/channels/whatsapp", headers=o.auth, json={
                "kind": "whatsapp_cloud", "phone_number_id": graph.phone_number_id, "access_token": graph.token,
                "app_secret": APP_SECRET, "verify_token": "verify-me", "api_base_url": base_url,
                "api_version": graph.version})
            assert answer.status_code == 201
            webhook = urlsplit(answer.json()["webhook_url"]).path
            await o.http.put("/v1/clients/banco/templates/whatsapp/es-CO/approved", headers=o.auth, json=TEMPLATE)
            await o.deliver(await o.placed("D-1", channels=("whatsapp",)), segmented("D-1", ("whatsapp",)))
            await o.tick()
            [(attempt_id, status)] = await o.sql("SELECT id, status FROM outreach.attempts WHERE account_ref = 'D-1' "
                                                 "AND sequence = 1")
            assert status == "sending" and len(graph.taken) == 1  # in doubt: Meta has it, we have no id
            [posted] = graph.taken
            assert posted.body["biz_opaque_callback_data"] == str(attempt_id)
            o.clock.now += dt.timedelta(seconds=6)
            assert await o.reconcile() == 1
            await o.tick()
            [(status, reason)] = await o.sql("SELECT status, failure FROM outreach.attempts "
                                             "WHERE account_ref = 'D-1' AND sequence = 1")
            assert status == "unknown" and "no documented look-up" in reason
            assert len(graph.posted) == 1
            unknown = (await o.http.get("/v1/clients/banco/unknown-sends?limit=10", headers=o.auth)).json()
            assert len(unknown["items"]) == 1

            now = int(o.clock.now.timestamp())
            async with o.platform.db.transaction() as s:  # another client company's webhook naming the attempt
                other = await _apply_statuses(s, "otra-empresa", MetaNotification.model_validate_json(
                    status_notification(graph, posted, "sent", now)).read(graph.phone_number_id)[1], o.clock.now)
            assert (other.applied, other.unknown) == (0, 1)
            assert await o.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id) == [("unknown",)]

            for meta_status in ("sent", "delivered"):
                raw = status_notification(graph, posted, meta_status, now)
                answer = await o.http.post(webhook, content=raw, headers={
                    "content-type": "application/json", "X-Hub-Signature-256": hub_signature(APP_SECRET, raw)})
                assert answer.status_code == 200, answer.text
            assert await o.sql("SELECT status, provider_message_id FROM outreach.attempts WHERE id = :a",
                               a=attempt_id) == [("delivered", posted.message_id)]
            unknown = (await o.http.get("/v1/clients/banco/unknown-sends?limit=10", headers=o.auth)).json()
            assert unknown["items"] == [] and len(graph.posted) == 1  # settled, never sent again
        finally:
            await http.aclose()
            await o.platform.db.dispose()


async def test_credentials_that_no_longer_open_fail_that_client_companys_sends_saying_why(cloud: Setup) -> None:
    """A sealed token altered, or sealed under a master key since removed: this client company's attempts fail
    with the reason (never rerouted to another provider, never in doubt), and the claim goes on for the others."""
    c = cloud
    await c.o.sql("UPDATE outreach.whatsapp_channels SET access_token = 's1.gone.AAAA.AAAA' RETURNING 1")
    await placed(c)
    await c.o.deliver(await c.o.placed("S-1", debtor="99887766", phones=("+573009998877",), channels=("sms",)),
                      segmented("S-1", ("sms",)))
    assert await c.o.tick() == 2
    status, provider, _, failure, _, _ = await attempt(c)
    assert (status, provider) == ("failed", "whatsapp_cloud")
    assert "credentials do not open" in failure and "reconfigure its WhatsApp" in failure
    assert c.graph.posted == []
    # The other account's SMS went out in the same claim (to the sandbox, which simulates its fate).
    assert await c.o.sql("SELECT provider, sent_at IS NOT NULL FROM outreach.attempts WHERE account_ref = 'S-1' "
                         "AND sequence = 1") == [("sandbox", True)]


async def press(c: Setup, message: dict[str, Any]) -> None:
    """A debtor's message (a button pressed) as Meta's webhook posts it, signed."""
    raw = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": c.graph.phone_number_id},
            "contacts": [{"profile": {"name": "María"}, "wa_id": "573001234567"}], "messages": [message]}}]}]},
        separators=(",", ":")).encode()
    answer = await c.o.http.post(c.webhook, content=raw, headers={
        "content-type": "application/json", "X-Hub-Signature-256": hub_signature(APP_SECRET, raw)})
    assert answer.status_code == 200, answer.text


async def test_the_template_goes_out_the_debtor_presses_pagar_gets_the_link_and_the_trail_shows_it_all(
        cloud: Setup) -> None:
    c = cloud
    await placed(c)
    await c.o.tick()
    [template] = c.graph.posted
    assert template.body["type"] == "template"
    # The debtor presses the template's first quick reply: Meta posts its payload and label, naming our message.
    c.o.clock.now += dt.timedelta(minutes=20)
    await press(c, {"context": {"from": "15550783881", "id": template.message_id}, "from": "573001234567",
                    "id": "wamid.PRESSED1", "timestamp": str(int(c.o.clock.now.timestamp())), "type": "button",
                    "button": {"payload": "pay_now", "text": "Pagar ahora"}})
    assert await answers(c) == 1
    link = c.graph.posted[1].body["text"]["body"]
    assert c.graph.posted[1].body["type"] == "text" and "http://outreach.test/pay/" in link
    assert (await attempt(c))[0] == "replied"
    kinds = [r[0] for r in await c.o.sql("SELECT kind FROM outreach.trail WHERE account_ref = 'W-1' ORDER BY id")]
    for kind in ("decision", "sending", "sent", "whatsapp_inbound", "whatsapp_answer_queued", "whatsapp_answer_sent"):
        assert kind in kinds, kinds
    assert kinds.index("sent") < kinds.index("whatsapp_inbound") < kinds.index("whatsapp_answer_sent")
    # The account's history, as an operator reads it, carries none of the words or the number.
    history = (await c.o.http.get("/v1/clients/banco/accounts/W-1/contacts", headers=c.o.auth)).text
    assert "573001234567" not in history and "Pagar ahora" not in history
