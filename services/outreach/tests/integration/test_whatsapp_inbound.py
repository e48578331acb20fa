"""WhatsApp Cloud API per client company, through the real API on the real database: the channel configured
without a secret ever coming back, Meta's verification handshake, and signed notifications: a debtor's words and
buttons (opt-out at once, payment link, dispute hold, agent desk), statuses applied forward only, and nothing
recorded from anything that does not verify."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from outreach.domain.whatsapp import hub_signature
from outreach.whatsapp.handlers import verify_subscription
from outreach.whatsapp.store import WhatsAppChannels
from recaudo_common.domain_errors import NotFound
from recaudo_common.events import AccountRecalled, DebtorErasureRequested
from recaudo_common.personal_data import MasterKeyring

from .conftest import Outreach, client_event, segmented

pytestmark = pytest.mark.integration
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "meta-app-secret-0123456789abcdef"
VERIFY_TOKEN = "meatyhamhock"
ACCESS_TOKEN = "EAAGsecret-access-token-xyz"
DEBTOR_PHONE = "+573001234567"


async def configure(o: Outreach, **changes: str) -> Any:
    body = {"kind": "whatsapp_cloud", "phone_number_id": PHONE_NUMBER_ID, "access_token": ACCESS_TOKEN,
            "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, **changes}
    return await o.http.put("/v1/clients/banco/channels/whatsapp", headers=o.auth, json=body)


async def webhook_path(o: Outreach) -> str:
    answer = await configure(o)
    assert answer.status_code in (200, 201), answer.text
    url: str = answer.json()["webhook_url"]
    return url.removeprefix(o.settings.public_url.rstrip("/"))


def notification(*, messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None
                 ) -> bytes:
    """A notification as Meta sends it (compact JSON, non-ASCII escaped)."""
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID}}
    if messages is not None:
        value["contacts"] = [{"profile": {"name": "María"}, "wa_id": messages[0]["from"]}]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"value": value, "field": "messages"}]}]}, separators=(",", ":")).encode()


def text_message(body: str, message_id: str, sender: str = DEBTOR_PHONE) -> dict[str, Any]:
    return {"from": sender.removeprefix("+"), "id": message_id, "timestamp": "1749416383", "type": "text",
            "text": {"body": body}}


def reply_button(button_id: str, title: str, message_id: str, context: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"from": DEBTOR_PHONE.removeprefix("+"), "id": message_id, "timestamp": "1739321024",
                               "type": "interactive",
                               "interactive": {"type": "button_reply", "button_reply": {"id": button_id,
                                                                                        "title": title}}}
    if context:
        message["context"] = {"from": "15550783881", "id": context}
    return message


def status(message_id: str, meta_status: str) -> dict[str, Any]:
    found: dict[str, Any] = {"id": message_id, "status": meta_status, "timestamp": "1750857384",
                             "recipient_id": DEBTOR_PHONE.removeprefix("+")}
    if meta_status == "failed":
        found["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    return found


async def post(o: Outreach, path: str, raw: bytes, signature: str | None = "sign") -> Any:
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = hub_signature(APP_SECRET, raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await o.http.post(path, content=raw, headers=headers)


async def compliance(o: Outreach, ref: str) -> dict[str, Any]:
    answer = await o.http.post("/v1/compliance/check", headers=o.auth, json={
        "client": "banco", "account_ref": ref, "channel": "whatsapp", "at": o.clock.now.isoformat()})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_the_channel_is_configured_and_read_back_without_any_secret(outreach: Outreach) -> None:
    first = await configure(outreach)
    assert first.status_code == 201, first.text
    second = await configure(outreach, access_token="EAAGrotated-token")
    assert second.status_code == 200
    read = await outreach.http.get("/v1/clients/banco/channels/whatsapp", headers=outreach.auth)
    assert read.status_code == 200
    for answer in (first, second, read):
        text = answer.text
        assert ACCESS_TOKEN not in text and "EAAGrotated-token" not in text
        assert APP_SECRET not in text and VERIFY_TOKEN not in text
        body = answer.json()
        assert body["access_token_set"] and body["app_secret_set"] and body["verify_token_set"]
        assert (body["phone_number_id"], body["api_base_url"], body["api_version"]) == (
            PHONE_NUMBER_ID, "https://graph.facebook.com", "v21.0")
    # The webhook URL is kept across puts, absolute on the platform's public URL, and says nothing secret.
    assert first.json()["webhook_url"] == read.json()["webhook_url"]
    assert read.json()["webhook_url"].startswith(outreach.settings.public_url.rstrip("/") + "/v1/webhooks/whatsapp/banco/")
    # At rest the secrets are sealed: nowhere in the table in clear.
    [row] = await outreach.sql("SELECT row_to_json(w)::text FROM outreach.whatsapp_channels w")
    assert ACCESS_TOKEN not in row[0] and "EAAGrotated" not in row[0] and APP_SECRET not in row[0]
    assert VERIFY_TOKEN not in row[0]
    # Only an operator configures it.
    client_key = {"Authorization": f"Bearer {outreach.client_key}"}
    refused = await outreach.http.put("/v1/clients/banco/channels/whatsapp", headers=client_key, json={
        "kind": "whatsapp_cloud", "phone_number_id": "1", "access_token": "a", "app_secret": "b", "verify_token": "c"})
    assert refused.status_code in (403, 404)


async def test_verification_answers_the_bare_challenge_and_refuses_a_wrong_token(outreach: Outreach) -> None:
    path = await webhook_path(outreach)
    ok = await outreach.http.get(path, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                               "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
                   {"hub.challenge": "1"}):
        refused = await outreach.http.get(path, params=params)
        assert refused.status_code == 403 and "1158201444" not in refused.text
    other = path.rsplit("/", 1)[0] + "/not-the-id"
    assert (await outreach.http.get(other, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                   "hub.challenge": "1"})).status_code == 404


async def test_a_signed_baja_opts_out_a_debtor_never_messaged_and_the_trail_keeps_no_words(outreach: Outreach
                                                                                          ) -> None:
    await outreach.deliver(await outreach.placed("W-1"))
    path = await webhook_path(outreach)
    assert "opted_out" not in (await compliance(outreach, "W-1"))["reasons"]

    answer = await post(outreach, path, notification(messages=[text_message("No más, BAJA", "wamid.IN1")]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["messages"] == {"recorded": 1, "duplicate": 0, "unmatched": 0}
    checked = await compliance(outreach, "W-1")
    assert not checked["allowed"] and "opted_out" in checked["reasons"]
    # Meta's retry of the same notification changes nothing.
    again = await post(outreach, path, notification(messages=[text_message("No más, BAJA", "wamid.IN1")]))
    assert again.json()["messages"]["duplicate"] == 1
    trail = " ".join(r[0] for r in await outreach.sql(
        "SELECT kind || ' ' || detail::text FROM outreach.trail WHERE account_ref = 'W-1' ORDER BY id"))
    assert "whatsapp_inbound" in trail and "opt_out" in trail and "opted_out" in trail
    assert "BAJA" not in trail and "3001234567" not in trail


async def test_a_bad_or_missing_signature_or_reserialised_json_records_nothing(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("W-2"))
    path = await webhook_path(outreach)
    raw = notification(messages=[text_message("BAJA", "wamid.BAD")])
    reserialised = json.dumps(json.loads(raw), indent=1).encode()
    for body, signature in ((raw, None), (raw, "sha256=" + "0" * 64), (raw, hub_signature("other", raw)),
                            (reserialised, hub_signature(APP_SECRET, raw))):
        refused = await post(outreach, path, body, signature)
        assert refused.status_code == 401, refused.text
    assert await outreach.sql("SELECT count(*) FROM outreach.whatsapp_inbound") == [(0,)]
    assert await outreach.sql("SELECT count(*) FROM outreach.opt_outs") == [(0,)]
    assert "opted_out" not in (await compliance(outreach, "W-2"))["reasons"]


async def test_a_rotated_app_secret_verifies_the_next_notification_at_once(outreach: Outreach) -> None:
    """Notifications find their channel in a cache of a few seconds (whatsapp.store.CHANNEL_TTL_S); an app secret
    an operator rotates through this server signs the next notification, and the old one no longer does."""
    await outreach.deliver(await outreach.placed("W-3"))
    path = await webhook_path(outreach)
    raw = notification(statuses=[status("wamid.ROT", "delivered")])
    assert (await post(outreach, path, raw)).status_code == 200
    assert (await configure(outreach, app_secret="meta-app-secret-rotado")).status_code == 200
    refused = await post(outreach, path, raw)  # still signed with the old secret
    assert refused.status_code == 401, refused.text
    assert (await post(outreach, path, raw, hub_signature("meta-app-secret-rotado", raw))).status_code == 200


async def sent_whatsapp(o: Outreach, ref: str, message_id: str) -> uuid.UUID:
    """A WhatsApp message of the account as the Cloud API provider records it: sent, its wamid, no receipt yet
    (sent through the sandbox, then made what the Cloud API provider records: this side does not depend on it)."""
    await o.deliver(await o.placed(ref), segmented(ref, ("sms",)))
    await o.tick()
    [(attempt_id,)] = await o.sql(
        "UPDATE outreach.attempts SET provider = 'whatsapp_cloud', provider_message_id = :m, status = 'sent', "
        "channel = 'whatsapp', "
        "delivered_at = NULL WHERE account_ref = :r AND sent_at IS NOT NULL RETURNING id", m=message_id, r=ref)
    return attempt_id  # type: ignore[no-any-return]


async def test_statuses_move_an_attempt_forward_only_and_unknown_ids_change_nothing(outreach: Outreach) -> None:
    outreach.settings.sandbox_delivery_rate = 1.0
    path = await webhook_path(outreach)
    attempt_id = await sent_whatsapp(outreach, "W-3", "wamid.OUT3")

    delivered = await post(outreach, path, notification(statuses=[status("wamid.OUT3", "delivered")]))
    assert delivered.json()["statuses"]["applied"] == 1
    # Late or out of order: sent, read, even failed, after delivered: nothing moves it back.
    late = await post(outreach, path, notification(statuses=[status("wamid.OUT3", s)
                                                             for s in ("sent", "read", "failed")]))
    assert late.status_code == 200 and late.json()["statuses"]["applied"] == 0
    [(state, failure)] = await outreach.sql("SELECT status, failure FROM outreach.attempts WHERE id = :a",
                                            a=attempt_id)
    assert (state, failure) == ("delivered", None)

    before = await outreach.sql("SELECT id, status, delivered_at FROM outreach.attempts ORDER BY id")
    trail_before = await outreach.sql("SELECT count(*) FROM outreach.trail")
    unknown = await post(outreach, path, notification(statuses=[status("wamid.NEVER-SENT", "delivered")]))
    assert unknown.status_code == 200 and unknown.json()["statuses"] == {"applied": 0, "duplicate": 0, "unknown": 1}
    assert await outreach.sql("SELECT id, status, delivered_at FROM outreach.attempts ORDER BY id") == before
    assert await outreach.sql("SELECT count(*) FROM outreach.trail") == trail_before


async def test_a_failed_status_fails_a_sent_message(outreach: Outreach) -> None:
    outreach.settings.sandbox_delivery_rate = 1.0
    path = await webhook_path(outreach)
    attempt_id = await sent_whatsapp(outreach, "W-4", "wamid.OUT4")
    await post(outreach, path, notification(statuses=[status("wamid.OUT4", "failed")]))
    [(state, failure)] = await outreach.sql("SELECT status, failure FROM outreach.attempts WHERE id = :a",
                                            a=attempt_id)
    assert state == "failed" and "131026" in failure


async def test_buttons_pay_dispute_and_anything_else_reach_the_right_place(outreach: Outreach) -> None:
    outreach.settings.sandbox_delivery_rate = 1.0
    path = await webhook_path(outreach)
    await sent_whatsapp(outreach, "W-5", "wamid.OUT5")

    paid = await post(outreach, path, notification(messages=[reply_button("pay_now", "Pagar ahora", "wamid.P",
                                                                          "wamid.OUT5")]))
    assert paid.json()["messages"]["recorded"] == 1
    [(answer, refs)] = await outreach.sql("SELECT answer, account_refs FROM outreach.whatsapp_inbound "
                                          "WHERE provider_message_id = 'wamid.P'")
    assert refs == ["W-5"] and answer.startswith("Puede pagar") and "/pay/" in answer
    # The press answers our message: a reply like any other, which proves its delivery and ends its attempt.
    assert ("whatsapp", "replied") in await outreach.attempts("W-5")
    assert await outreach.sql("SELECT provider, channel, opt_out FROM outreach.replies WHERE "
                              "provider_message_id = 'wamid.P'") == [("whatsapp_cloud", "whatsapp", False)]

    await post(outreach, path, notification(messages=[text_message("¿Puedo pagar el viernes?", "wamid.Q")]))
    desk = await outreach.http.get("/v1/clients/banco/whatsapp/conversations", headers=outreach.auth)
    [conversation] = desk.json()["items"]
    assert (conversation["account_refs"], conversation["text"]) == (["W-5"], "¿Puedo pagar el viernes?")
    taken = f"/v1/clients/banco/whatsapp/conversations/{conversation['id']}/handled"
    assert (await outreach.http.post(taken, headers=outreach.auth)).status_code == 204
    assert (await outreach.http.post(taken, headers=outreach.auth)).status_code == 204
    assert (await outreach.http.get("/v1/clients/banco/whatsapp/conversations",
                                    headers=outreach.auth)).json()["items"] == []
    unknown = f"/v1/clients/banco/whatsapp/conversations/{uuid.uuid4()}/handled"
    assert (await outreach.http.post(unknown, headers=outreach.auth)).status_code == 404

    await post(outreach, path, notification(messages=[reply_button("dispute_debt", "No reconozco la deuda",
                                                                   "wamid.D", "wamid.OUT5")]))
    assert await outreach.sql("SELECT hold FROM outreach.legal_holds WHERE account_ref = 'W-5' "
                              "AND lifted_at IS NULL") == [("dispute",)]
    checked = await compliance(outreach, "W-5")
    assert not checked["allowed"] and "legal_hold" in checked["reasons"]
    # Under the dispute, "Pagar" is recorded and sends no payment link; nor once the account is recalled.
    await post(outreach, path, notification(messages=[reply_button("pay_now", "Pagar ahora", "wamid.P2",
                                                                   "wamid.OUT5")]))
    assert await outreach.sql("SELECT answer FROM outreach.whatsapp_inbound "
                              "WHERE provider_message_id = 'wamid.P2'") == [(None,)]
    await outreach.sql("UPDATE outreach.legal_holds SET lifted_at = now() WHERE account_ref = 'W-5' RETURNING 1")
    await outreach.sql("INSERT INTO outreach.account_status (client_slug, account_ref, status, as_of) "
                       "VALUES ('banco', 'W-5', 'recalled', now()) ON CONFLICT (client_slug, account_ref) "
                       "DO UPDATE SET status = 'recalled' RETURNING 1")
    await post(outreach, path, notification(messages=[reply_button("pay_now", "Pagar ahora", "wamid.P3",
                                                                   "wamid.OUT5")]))
    assert await outreach.sql("SELECT answer FROM outreach.whatsapp_inbound "
                              "WHERE provider_message_id = 'wamid.P3'") == [(None,)]


async def test_a_number_no_account_has_is_recorded_and_nothing_else(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("W-6"))
    path = await webhook_path(outreach)
    answer = await post(outreach, path, notification(messages=[text_message("BAJA", "wamid.X", "+573009990000")]))
    assert answer.json()["messages"] == {"recorded": 0, "duplicate": 0, "unmatched": 1}
    assert await outreach.sql("SELECT count(*) FROM outreach.opt_outs") == [(0,)]


async def test_the_erasure_of_a_person_reaches_their_whatsapp_messages(outreach: Outreach) -> None:
    placed = await outreach.placed("W-7")
    await outreach.deliver(placed)
    path = await webhook_path(outreach)
    await post(outreach, path, notification(messages=[text_message("Soy María, llamen al 3001234567", "wamid.E")]))
    await post(outreach, path, notification(messages=[reply_button("pay_now", "Pagar ahora", "wamid.E2")]))
    assert await outreach.sql("SELECT count(*) FROM outreach.whatsapp_inbound WHERE sender = :p", p=DEBTOR_PHONE) \
        == [(2,)]
    await outreach.deliver(AccountRecalled(account_ref="W-7", recalled_at=outreach.clock.now))
    assert placed.debtor_ref is not None
    await outreach.deliver(DebtorErasureRequested(erasure_id=uuid.uuid4(), debtor_ref=placed.debtor_ref,
                                                  account_refs=["W-7"], reason="request",
                                                  requested_at=outreach.clock.now))
    rows = await outreach.sql("SELECT sender, body, answer, meaning FROM outreach.whatsapp_inbound ORDER BY meaning")
    assert rows == [("", "", None, "agent"), ("", "", None, "pay")]


async def test_a_client_companys_webhook_never_settles_another_ones_message(outreach: Outreach) -> None:
    outreach.settings.sandbox_delivery_rate = 1.0
    path = await webhook_path(outreach)  # banco's
    await outreach.deliver(client_event("otro"), client="otro")
    await outreach.deliver(await outreach.placed("O-1", client="otro"), segmented("O-1", ("sms",)), client="otro")
    await outreach.tick()
    [(attempt_id,)] = await outreach.sql(
        "UPDATE outreach.attempts SET provider = 'whatsapp_cloud', provider_message_id = 'wamid.OTRO', "
        "status = 'sent', channel = 'whatsapp', delivered_at = NULL WHERE account_ref = 'O-1' "
        "AND sent_at IS NOT NULL RETURNING id")
    answer = await post(outreach, path, notification(statuses=[status("wamid.OTRO", "failed")]))
    assert answer.status_code == 200 and answer.json()["statuses"]["unknown"] == 1
    assert await outreach.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id) == [("sent",)]


async def test_a_signed_body_that_is_not_a_notification_is_refused_and_records_nothing(outreach: Outreach) -> None:
    path = await webhook_path(outreach)
    for raw in (b"not json", b'{"entry": []}', b'{"object": "whatsapp_business_account", "entry": [{"id": 1}]}'):
        refused = await post(outreach, path, raw)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_notification", refused.text
    assert await outreach.sql("SELECT count(*) FROM outreach.whatsapp_inbound") == [(0,)]


async def test_an_opt_out_button_on_our_message_opts_out_its_debtor_whatever_number_it_comes_from(
        outreach: Outreach) -> None:
    outreach.settings.sandbox_delivery_rate = 1.0
    path = await webhook_path(outreach)
    await sent_whatsapp(outreach, "W-8", "wamid.OUT8")
    pressed = reply_button("opt_out", "No deseo recibir mensajes", "wamid.O8", "wamid.OUT8")
    pressed["from"] = "573001110000"  # the debtor's new number: not on file
    answer = await post(outreach, path, notification(messages=[pressed]))
    assert answer.json()["messages"]["recorded"] == 1
    checked = await compliance(outreach, "W-8")
    assert not checked["allowed"] and "opted_out" in checked["reasons"]
    assert ("whatsapp", "replied") in await outreach.attempts("W-8")


async def test_a_webhook_path_of_another_shape_is_refused_before_it_is_looked_up_or_kept(outreach: Outreach) -> None:
    """Anyone may call the webhook's path: a made-up slug or id of any length must cost nothing kept (each was a
    query and an entry of the channels' cache: 1,500 long slugs held 90 MB)."""
    channels = WhatsAppChannels(60.0)
    keyring = MasterKeyring.of_settings(outreach.platform.settings)
    for slug, webhook_id in (("x" * 60_000, "abc"), ("Banco Andino", "abc"), ("banco", "a" * 65), ("banco", "../x")):
        with pytest.raises(NotFound):
            await verify_subscription(outreach.platform.db, keyring, client=slug, webhook_id=webhook_id, mode=None,
                                      token=None, challenge=None, channels=channels)
    assert channels._entries == {}
    with pytest.raises(NotFound):  # of the platform's shape: looked up once, and kept a while
        await verify_subscription(outreach.platform.db, keyring, client="telco-azteca", webhook_id="abc",
                                  mode=None, token=None, challenge=None, channels=channels)
    assert list(channels._entries) == ["telco-azteca"]


@pytest.mark.parametrize("stamp", ["²", "٣٤٥", "99999999999999999999", "-5", "", 99999999999999999999, -5],
                         ids=["superscript", "arabic_indic", "huge", "negative", "empty", "huge_number",
                              "negative_number"])
async def test_an_odd_timestamp_is_recorded_at_its_receipt_and_never_fails_the_notification(
        outreach: Outreach, stamp: object) -> None:
    """Meta's `timestamp` is a string of Unix seconds; one that is not (a digit Python reads but int() does not, one
    past any date, a negative one, a number) must not cost the debtor's BAJA a 500 and Meta's retries: the message is
    recorded at the time it was received and acted on, and a status carrying it is applied."""
    outreach.settings.sandbox_delivery_rate = 1.0
    await outreach.deliver(await outreach.placed("W-9"))
    path = await webhook_path(outreach)
    attempt_id = await sent_whatsapp(outreach, "W-9", "wamid.OUT9")
    message = {**text_message("BAJA", "wamid.ODD"), "timestamp": stamp}
    answer = await post(outreach, path, notification(messages=[message],
                                                     statuses=[{**status("wamid.OUT9", "delivered"),
                                                                "timestamp": stamp}]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["messages"]["recorded"] == 1 and answer.json()["statuses"]["applied"] == 1
    assert await outreach.sql("SELECT received_at FROM outreach.whatsapp_inbound WHERE provider_message_id = "
                              "'wamid.ODD'") == [(outreach.clock.now,)]
    assert "opted_out" in (await compliance(outreach, "W-9"))["reasons"]
    assert await outreach.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id) == [("delivered",)]
