"""Twilio's documented formats as known answers: X-Twilio-Signature from the worked example of Twilio's webhook
security docs and twilio-python's RequestValidator test vectors (form and JSON bodies, repeated parameters,
ports), the callbacks' documented parameters read into receipts, and the TwiML a call plays."""

import uuid
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest

from outreach.providers.base import OutboundMessage, Receipt
from outreach.providers.twilio import Twilio, signature_verifies, twilio_signature
from outreach.settings import OutreachSettings

pytestmark = pytest.mark.unit

# The worked example of https://www.twilio.com/docs/usage/security#validating-requests (now
# https://www.twilio.com/docs/usage/webhooks/webhooks-security), as Twilio's docs snippets give it
# (github.com/twilio-samples/api-snippets, security/): auth token 12345, this URL, these POST parameters.
DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234", "From": "+12349013030",
               "To": "+18005551212"}
DOCS_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

# twilio-python's tests/unit/test_request_validator.py (github.com/twilio/twilio-python, RequestValidator).
SDK_PARAMS = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309", "To": "+18005551212",
              "Caller": "+14158675309"}
SDK_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
SDK_BODY = b'{"property": "value", "boolean": true}'
SDK_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"


def test_the_docs_worked_example_signs_to_the_published_signature() -> None:
    # The string signed, as the docs spell it out: the URL, then each name and value, names sorted, no separators.
    assert twilio_signature("12345", DOCS_URL, DOCS_PARAMS) == DOCS_SIGNATURE
    assert signature_verifies("12345", DOCS_URL, DOCS_SIGNATURE, DOCS_PARAMS)
    assert not signature_verifies("12346", DOCS_URL, DOCS_SIGNATURE, DOCS_PARAMS)
    assert not signature_verifies("12345", DOCS_URL, DOCS_SIGNATURE, {**DOCS_PARAMS, "Digits": "1235"})
    assert not signature_verifies("12345", DOCS_URL.replace("foo=1", "foo=2"), DOCS_SIGNATURE, DOCS_PARAMS)


def test_twilio_pythons_request_validator_vectors() -> None:
    assert twilio_signature("12345", DOCS_URL, SDK_PARAMS) == SDK_SIGNATURE
    assert signature_verifies("12345", DOCS_URL, SDK_SIGNATURE, SDK_PARAMS)
    # A repeated name: its distinct values, sorted (test_compute_signature_duplicate_multi_dict).
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234"), ("Digits", "1234")]
    assert twilio_signature("12345", DOCS_URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    # The URL with and without its port (test_validation_removes_port_*, test_validation_adds_port_*).
    assert signature_verifies("12345", DOCS_URL.replace(".com", ".com:1234"), SDK_SIGNATURE, SDK_PARAMS)
    http_with_port = DOCS_URL.replace(".com", ".com:1234").replace("https", "http")
    assert signature_verifies("12345", http_with_port, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", SDK_PARAMS)
    assert signature_verifies("12345", DOCS_URL, "kvajT1Ptam85bY51eRf/AJRuM3w=", SDK_PARAMS)
    assert signature_verifies("12345", DOCS_URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4=", SDK_PARAMS)


def test_a_json_body_is_signed_through_its_sha256_in_the_url() -> None:
    # test_validation_of_body_succeeds: the URL carries bodySHA256; the signature covers the URL alone.
    url = f"{DOCS_URL}&bodySHA256={SDK_BODY_HASH}"
    assert signature_verifies("12345", url, "a9nBmqA0ju/hNViExpshrM61xv4=", raw_json=SDK_BODY)
    assert not signature_verifies("12345", url, "a9nBmqA0ju/hNViExpshrM61xv4=", raw_json=SDK_BODY + b" ")
    assert not signature_verifies("12345", DOCS_URL, twilio_signature("12345", DOCS_URL), raw_json=SDK_BODY)


@pytest.mark.parametrize("header", [None, "", "bm9wZQ==", DOCS_SIGNATURE + "x", "é" * 28])
def test_a_missing_or_wrong_signature_does_not_verify(header: str | None) -> None:
    assert not signature_verifies("12345", DOCS_URL, header, DOCS_PARAMS)
    assert not signature_verifies("", DOCS_URL, DOCS_SIGNATURE, DOCS_PARAMS)  # no token configured: nothing does


def twilio() -> Twilio:
    return Twilio(OutreachSettings(twilio_account_sid="AC1", twilio_auth_token="tok", twilio_sms_from="+15005550006",
                                   public_url="https://recaudo.example"))


def test_status_callbacks_in_their_documented_form() -> None:
    attempt = uuid.uuid4()
    url = f"https://recaudo.example/v1/webhooks/outreach/twilio?attempt={attempt}"
    read = twilio().receipts
    assert read(url, {"MessageSid": "SM1", "MessageStatus": "delivered"}) == [
        Receipt("SM1", "delivered", None, attempt_id=attempt)]
    for status in ("queued", "sending", "sent"):
        assert read(url, {"MessageSid": "SM1", "MessageStatus": status})[0].status == "sent"  # settles nothing
    assert read(url, {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"}) == [
        Receipt("SM1", "failed", "undelivered 30003", attempt_id=attempt)]
    assert read(url, {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "30008"})[0].detail == \
        "failed 30008"
    for status, becomes in (("completed", "delivered"), ("busy", "failed"), ("no-answer", "failed"),
                            ("failed", "failed"), ("canceled", "failed"), ("ringing", "sent")):
        [r] = read(url, {"CallSid": "CA1", "CallStatus": status})
        assert (r.message_id, r.status, r.attempt_id) == ("CA1", becomes, attempt)


@pytest.mark.parametrize(("body", "extra", "twilio_says_opt_out"), [
    ("STOP", {}, True), ("stopall", {}, True), ("Unsubscribe", {}, True), ("CANCEL", {}, True), ("end", {}, True),
    ("QUIT", {}, True), ("  Stop ", {}, True), ("Quiero pagar", {}, False), ("BAJA", {}, False),
    ("BAJA", {"OptOutType": "STOP"}, True)])  # a keyword a Messaging Service's Advanced Opt-Out was told
def test_an_inbound_message_in_its_documented_form(body: str, extra: dict[str, str], twilio_says_opt_out: bool
                                                   ) -> None:
    form = {"MessageSid": "SMin", "AccountSid": "AC1", "From": "+573001234567", "To": "+15005550006", "Body": body,
            "NumMedia": "0", "SmsStatus": "received", **extra}  # inbound messages carry SmsStatus=received
    [r] = twilio().receipts("https://recaudo.example/v1/webhooks/outreach/twilio", form)
    assert (r.status, r.message_id, r.detail, r.reply_from, r.reply_channel) == (
        "reply", "SMin", body, "+573001234567", "sms")
    assert r.opt_out is twilio_says_opt_out


def test_the_call_reads_the_message_in_spanish_inside_a_one_key_gather() -> None:
    attempt = uuid.uuid4()
    message = OutboundMessage(attempt, "voice", "+573001234567", None, "Buen día, María. Saldo <1.500.000> & más.")
    root = ET.fromstring(twilio().voice.call_twiml(message))  # noqa: S314
    assert root.tag == "Response"
    gather, goodbye = list(root)
    assert gather.tag == "Gather" and gather.attrib["numDigits"] == "1" and gather.attrib["method"] == "POST"
    assert gather.attrib["input"] == "dtmf"
    action = urlsplit(gather.attrib["action"])
    assert (action.scheme, action.netloc, action.path) == (
        "https", "recaudo.example", "/v1/webhooks/outreach/twilio/voice/gather")
    assert parse_qs(action.query) == {"attempt": [str(attempt)]}
    [say] = list(gather)
    assert say.tag == "Say" and say.attrib == {"language": "es-MX", "voice": "Polly.Mia"}
    assert say.text == "Buen día, María. Saldo <1.500.000> & más. Marque 1 para pagar, 2 para hablar con un asesor."
    assert goodbye.tag == "Say" and goodbye.attrib["language"] == "es-MX"


def test_a_long_message_is_cut_to_twilios_inline_twiml_limit() -> None:
    message = OutboundMessage(uuid.uuid4(), "voice", "+573001234567", None, "palabra " * 1000)
    document = twilio().voice.call_twiml(message)
    assert len(document) <= 4000
    say = ET.fromstring(document).find("Gather/Say")  # noqa: S314
    assert say is not None and say.text is not None and say.text.endswith("… Marque 1 para pagar, 2 para hablar "
                                                                          "con un asesor.")


def voice_sender_problems(**senders: str) -> list[str]:
    settings = OutreachSettings(providers={"voice": "twilio", "email": "off"}, twilio_account_sid="AC1",
                                twilio_auth_token="t" * 32, **senders)
    return [p.problem for p in settings.production_problems() if "Twilio" in p.problem]


def test_production_asks_voice_through_twilio_for_a_caller_id() -> None:
    assert voice_sender_problems() == ["no sender for voice through Twilio"]
    assert voice_sender_problems(twilio_voice_from="+15005550007") == []
    assert voice_sender_problems(twilio_sms_from="+15005550006") == []  # calls from the SMS number
    assert "voice" in twilio().channels
