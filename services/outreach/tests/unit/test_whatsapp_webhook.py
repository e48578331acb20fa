"""WhatsApp Cloud API's webhook as Meta documents it: the X-Hub-Signature-256 known answers, the verification
handshake, each documented message and status shape read from the docs' own examples, what a debtor's message
asks for, and the channel's secrets sealed at rest."""

import json
import uuid
from collections.abc import Mapping

import pytest

from outreach.domain.whatsapp import (
    InboundMessage,
    Meaning,
    answer_text,
    attempt_named,
    callback_data,
    hub_signature,
    meaning,
    signature_verifies,
    verification_answer,
)
from outreach.whatsapp.schemas import MetaNotification, WhatsAppChannelIn
from recaudo_common.personal_data import MasterKeyring
from recaudo_common.secrets_at_rest import SecretUnreadable, open_secret, seal_secret

pytestmark = pytest.mark.unit

SECRET = "meta-app-secret"
PHONE_NUMBER_ID = "106540352242922"
# Meta's text message example (webhooks/reference/messages/text), compact as Meta sends it.
TEXT_EXAMPLE = (b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":'
                b'{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":'
                b'"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],'
                b'"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3'
                b'MUMxMAA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},'
                b'"field":"messages"}]}]}')


def test_signature_known_answers() -> None:
    # Computed independently: printf '%s' BODY | openssl dgst -sha256 -hmac 'meta-app-secret' -hex
    # (Meta publishes no worked example: https://developers.facebook.com/docs/graph-api/webhooks/getting-started,
    # "Validating Payloads": sha256= and the HMAC-SHA256 of the payload with the app secret, lowercase hex.)
    empty = b'{"object":"whatsapp_business_account","entry":[]}'
    assert hub_signature(SECRET, empty) == (
        "sha256=ee9f05f989bc0aa2693d85691a477f8b8403933cde7959a1c5c6be7ea85e8d3d")
    assert hub_signature(SECRET, TEXT_EXAMPLE) == (
        "sha256=39e169505c02349bfdb2649f5c3c42283673ed778830db056829e8d566fb1e6b")
    assert signature_verifies(SECRET, TEXT_EXAMPLE,
                              "sha256=39e169505c02349bfdb2649f5c3c42283673ed778830db056829e8d566fb1e6b")


def test_a_signature_holds_only_for_the_exact_bytes_with_the_right_secret() -> None:
    good = hub_signature(SECRET, TEXT_EXAMPLE)
    reserialised = json.dumps(json.loads(TEXT_EXAMPLE)).encode()  # same JSON, other bytes (spaces)
    assert not signature_verifies(SECRET, reserialised, good)
    # Meta signs the payload as sent, Unicode escaped: the same text written as UTF-8 does not verify.
    escaped = b'{"text":"no m\\u00e1s"}'
    assert not signature_verifies(SECRET, "{\"text\":\"no más\"}".encode(), hub_signature(SECRET, escaped))
    assert not signature_verifies("another-secret", TEXT_EXAMPLE, good)
    assert not signature_verifies(SECRET, TEXT_EXAMPLE, None)
    assert not signature_verifies(SECRET, TEXT_EXAMPLE, good.removeprefix("sha256="))  # the prefix is part of it
    assert not signature_verifies(SECRET, TEXT_EXAMPLE, "sha1=" + good.removeprefix("sha256="))
    assert not signature_verifies("", TEXT_EXAMPLE, hub_signature("", TEXT_EXAMPLE))  # no secret, no trust
    assert not signature_verifies(SECRET, TEXT_EXAMPLE, "sha256=ñ" + "0" * 63)  # a non-ASCII header is refused


def test_verification_answers_the_bare_challenge_only_to_the_right_token() -> None:
    # Meta's sample request: hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock
    assert verification_answer(mode="subscribe", token="meatyhamhock", challenge="1158201444",
                               verify_token="meatyhamhock") == "1158201444"
    assert verification_answer(mode="subscribe", token="wrong", challenge="1", verify_token="meatyhamhock") is None
    assert verification_answer(mode="unsubscribe", token="meatyhamhock", challenge="1",
                               verify_token="meatyhamhock") is None
    assert verification_answer(mode="subscribe", token=None, challenge="1", verify_token="meatyhamhock") is None
    assert verification_answer(mode="subscribe", token="meatyhamhock", challenge="x" * 1000,
                               verify_token="meatyhamhock") is None


def _notification(message_or_status: Mapping[str, object], key: str = "messages",
                  phone_number_id: str = PHONE_NUMBER_ID) -> MetaNotification:
    return MetaNotification.model_validate({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            key: [message_or_status]}}]}]})


CONTEXT = {"from": "15550783881", "id": "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="}


@pytest.mark.parametrize(("message", "expected"), [
    # webhooks/reference/messages/text
    ({"from": "16505551234", "id": "wamid.A", "timestamp": "1749416383", "type": "text",
      "text": {"body": "Does it come in another color?"}},
     InboundMessage("wamid.A", "+16505551234", "text", "Does it come in another color?")),
    # webhooks/reference/messages/button: a template's quick reply, its payload and its label
    ({"context": CONTEXT, "from": "16505551234", "id": "wamid.B", "timestamp": "1739321024", "type": "button",
      "button": {"payload": "Unsubscribe", "text": "Unsubscribe"}},
     InboundMessage("wamid.B", "+16505551234", "button", "Unsubscribe", "Unsubscribe", CONTEXT["id"])),
    # webhooks/reference/messages/interactive: reply button, then list row
    ({"context": CONTEXT, "from": "16505551234", "id": "wamid.C", "timestamp": "1739321024", "type": "interactive",
      "interactive": {"type": "button_reply", "button_reply": {"id": "cancel-button", "title": "Cancel"}}},
     InboundMessage("wamid.C", "+16505551234", "interactive", "Cancel", "cancel-button", CONTEXT["id"])),
    ({"context": CONTEXT, "from": "16505551234", "id": "wamid.D", "timestamp": "1739321024", "type": "interactive",
      "interactive": {"type": "list_reply", "list_reply": {"id": "priority_express", "title": "Priority Mail Express",
                                                           "description": "Next Day to 2 Days"}}},
     InboundMessage("wamid.D", "+16505551234", "interactive", "Priority Mail Express", "priority_express",
                    CONTEXT["id"])),
])
def test_each_documented_message_shape_is_read(message: dict[str, object], expected: InboundMessage) -> None:
    [read], statuses, ignored = _notification(message).read(PHONE_NUMBER_ID)
    assert (read.message_id, read.sender, read.kind, read.text, read.reply_id, read.context_id) == (
        expected.message_id, expected.sender, expected.kind, expected.text, expected.reply_id, expected.context_id)
    assert statuses == [] and ignored == 0


@pytest.mark.parametrize(("status", "expected"), [
    ({"id": "wamid.S", "status": "sent", "timestamp": "1750857384", "recipient_id": "16505551234",
      "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"}}, ("sent", None)),
    ({"id": "wamid.S", "status": "delivered", "timestamp": "1750857384", "recipient_id": "16505551234"},
     ("delivered", None)),
    ({"id": "wamid.S", "status": "read", "timestamp": "1750857384", "recipient_id": "16505551234"},
     ("delivered", None)),  # read implies delivered (Meta may send read without delivered)
    ({"id": "wamid.S", "status": "failed", "timestamp": "1750857384", "recipient_id": "16505551234",
      "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                  "error_data": {"details": "Message Undeliverable."}}]},
     ("failed", "131026 Message undeliverable")),
])
def test_each_documented_status_is_read(status: dict[str, object], expected: tuple[str, str | None]) -> None:
    messages, [update], ignored = _notification(status, "statuses").read(PHONE_NUMBER_ID)
    assert messages == [] and ignored == 0
    assert (update.message_id, update.status, update.detail) == ("wamid.S", *expected)


def test_a_status_names_the_attempt_its_send_put_in_the_callback_data() -> None:
    """The webhooks reference's status object returns the send's `biz_opaque_callback_data` as a string: ours is
    the attempt's id; anything else (another sender's JSON, as in Meta's example of the field) names none."""
    attempt_id = uuid.UUID("0193e5b2-7c41-7d6a-9f00-2a1b3c4d5e6f")
    ours = {"id": "wamid.S", "status": "sent", "timestamp": "1709295133", "recipient_id": "16505551234",
            "biz_opaque_callback_data": callback_data(attempt_id)}
    [update] = _notification(ours, "statuses").read(PHONE_NUMBER_ID)[1]
    assert (update.status, update.attempt_id) == ("sent", attempt_id)
    theirs = {**ours, "biz_opaque_callback_data": json.dumps({"source": "api", "date": "2024-03-01"})}
    assert _notification(theirs, "statuses").read(PHONE_NUMBER_ID)[1][0].attempt_id is None
    for odd in ("", "x" * 36, "z" * 5000):
        assert attempt_named(odd) is None
    assert _notification({k: v for k, v in ours.items() if k != "biz_opaque_callback_data"},
                         "statuses").read(PHONE_NUMBER_ID)[1][0].attempt_id is None


def test_another_numbers_changes_and_unknown_statuses_are_ignored() -> None:
    text = {"from": "16505551234", "id": "wamid.A", "type": "text", "text": {"body": "hola"}}
    assert _notification(text, phone_number_id="999").read(PHONE_NUMBER_ID) == ([], [], 1)
    assert _notification({"id": "w", "status": "deleted"}, "statuses").read(PHONE_NUMBER_ID) == ([], [], 1)
    bad_sender = {"from": "+57 300", "id": "wamid.A", "type": "text", "text": {"body": "hola"}}
    assert _notification(bad_sender).read(PHONE_NUMBER_ID) == ([], [], 1)


def _says(text: str, reply_id: str | None = None, kind: str = "text") -> Meaning:
    return meaning(InboundMessage("m", "+573001234567", kind, text, reply_id))


def test_what_a_debtor_asks_for() -> None:
    for stop in ("BAJA", "stop", "No más", "NO MAS!", "nomas", "baja por favor"):
        assert _says(stop) is Meaning.OPT_OUT
    assert _says("Unsubscribe", "Unsubscribe", "button") is Meaning.OPT_OUT  # Meta's own quick-reply example
    assert _says("No deseo recibir mensajes", "opt_out", "interactive") is Meaning.OPT_OUT
    assert _says("Otra cosa", "BAJA", "button") is Meaning.OPT_OUT  # the payload alone says it
    assert _says("Pagar ahora", "pay_now", "interactive") is Meaning.PAY
    assert _says("Pagar", None, "button") is Meaning.PAY
    assert _says("Acordar un pago", "arrange_payment", "interactive") is Meaning.ARRANGE
    assert _says("No reconozco la deuda", "dispute_debt", "interactive") is Meaning.DISPUTE
    assert _says("no reconozco") is Meaning.DISPUTE
    assert _says("¿Puedo pagar la mitad el viernes?") is Meaning.AGENT
    assert _says("") is Meaning.AGENT
    # Stop wins over anything else in the same message: nobody who said stop is sent a link.
    assert _says("Pagar ahora", "opt_out", "interactive") is Meaning.OPT_OUT


def test_the_answer_carries_each_accounts_link() -> None:
    one = answer_text(Meaning.PAY, [("A-1", "https://pay.example/pay/t1")])
    assert one == "Puede pagar de forma segura aquí: https://pay.example/pay/t1"
    two = answer_text(Meaning.ARRANGE, [("A-1", "https://x/1"), ("A-2", "https://x/2")])
    assert two is not None and "Cuenta A-1: https://x/1" in two and "Cuenta A-2: https://x/2" in two
    assert answer_text(Meaning.AGENT, [("A-1", "https://x/1")]) is None


def test_channel_configuration_is_a_versioned_strict_model() -> None:
    given = WhatsAppChannelIn.model_validate({"kind": "whatsapp_cloud", "phone_number_id": "106540352242922",
                                              "access_token": "EAAG", "app_secret": "s", "verify_token": "v"})
    assert (given.api_base_url, given.api_version) == ("https://graph.facebook.com", "v21.0")
    for wrong in ({"kind": "twilio"}, {"phone_number_id": "12a"}, {"api_version": "21"}, {"extra": 1}):
        with pytest.raises(ValueError):
            WhatsAppChannelIn.model_validate({"kind": "whatsapp_cloud", "phone_number_id": "1", "access_token": "a",
                                              "app_secret": "s", "verify_token": "v", **wrong})


def test_secrets_are_sealed_bound_to_their_owner_and_open_after_a_rotation() -> None:
    old, new = bytes(range(32)), bytes(range(1, 33))
    sealed = seal_secret(MasterKeyring(old), "whatsapp/banco/app_secret", "meta-app-secret")
    assert "meta-app-secret" not in sealed
    assert open_secret(MasterKeyring(old), "whatsapp/banco/app_secret", sealed) == "meta-app-secret"
    assert open_secret(MasterKeyring(new, [old]), "whatsapp/banco/app_secret", sealed) == "meta-app-secret"
    with pytest.raises(SecretUnreadable):
        open_secret(MasterKeyring(old), "whatsapp/otro/app_secret", sealed)  # moved to another client company
    with pytest.raises(SecretUnreadable):
        open_secret(MasterKeyring(new), "whatsapp/banco/app_secret", sealed)  # its master key is gone
    with pytest.raises(SecretUnreadable):
        open_secret(MasterKeyring(old), "whatsapp/banco/app_secret", sealed[:-2] + "AA")  # altered
