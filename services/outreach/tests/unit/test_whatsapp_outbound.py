"""WhatsApp through Meta's Cloud API, the pure parts: the request bodies exactly as Meta documents them (template,
text, interactive reply buttons), the 24-hour window and the choice of template or free-form message, Meta's
limits on reply buttons, and what each documented error code means for the attempt."""

import datetime as dt
import json

import pytest

from outreach.domain.templates import OPT_OUT_LINES
from outreach.domain.whatsapp import InboundMessage, meaning
from outreach.domain.whatsapp_window import (
    BUTTON_IDS,
    TEMPLATE_BUTTON_LABELS,
    ApprovedTemplate,
    InteractiveMessage,
    MessageTooLong,
    NoApprovedTemplate,
    ReplyButton,
    TemplateMessage,
    TextMessage,
    choose_message,
    interactive_buttons,
    parameter_text,
    reply_button_problems,
    template_problems,
    window_open,
)
from outreach.providers.whatsapp_cloud import GraphErrorDetail, SentAnswer, request_body, send_error, to_number

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
TEMPLATE = ApprovedTemplate("cobro_saldo", "es", ("debtor_name", "creditor", "balance", "payment_link"),
                            ("pay", "arrange", "dispute", "opt_out"))
VALUES = {"debtor_name": "María", "creditor": "Banco Andino", "balance": "$ 1.500.000,00",
          "payment_link": "https://r.example/pay/T", "offer": ""}


def test_a_template_body_is_the_documented_one() -> None:
    # https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates: body parameters of type
    # text, and each quick reply's payload by its index (a string).
    message = TemplateMessage("cobro_saldo", "es", ("María", "Banco Andino"), ("pay_now", "opt_out"))
    assert request_body("573001234567", message) == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567", "type": "template",
        "template": {"name": "cobro_saldo", "language": {"code": "es"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "María"},
                                            {"type": "text", "text": "Banco Andino"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "0",
             "parameters": [{"type": "payload", "payload": "pay_now"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1",
             "parameters": [{"type": "payload", "payload": "opt_out"}]}]}}


def test_the_callback_data_rides_beside_the_message() -> None:
    # biz_opaque_callback_data: a string Meta returns, unprocessed, in the message's status notifications.
    body = request_body("573001234567", TextMessage("Hola"), "0193e5b2-7c41-7d6a-9f00-2a1b3c4d5e6f")
    assert body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567",
                    "biz_opaque_callback_data": "0193e5b2-7c41-7d6a-9f00-2a1b3c4d5e6f", "type": "text",
                    "text": {"body": "Hola"}}


def test_a_template_without_parameters_or_buttons_has_no_components() -> None:
    body = request_body("573001234567", TemplateMessage("aviso", "es_MX", (), ()))
    assert body["template"] == {"name": "aviso", "language": {"code": "es_MX"}}


def test_a_text_body_is_the_documented_one() -> None:
    # https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/text-messages/
    assert request_body("573001234567", TextMessage("Hola")) == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567", "type": "text",
        "text": {"body": "Hola"}}


def test_an_interactive_reply_buttons_body_is_the_documented_one() -> None:
    # https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-messages
    message = InteractiveMessage("Su saldo", interactive_buttons("es-CO"))
    assert request_body("573001234567", message) == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567",
        "type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Su saldo"},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": "pay_now", "title": "Pagar ahora"}},
                {"type": "reply", "reply": {"id": "arrange_payment", "title": "Acordar un pago"}},
                {"type": "reply", "reply": {"id": "dispute_debt", "title": "No reconozco deuda"}}]}}}


def test_the_bodies_serialise_as_json_with_unicode_intact() -> None:
    body = request_body("573001234567", TemplateMessage("t", "es", ("Pérez Ñandú",), ()))
    assert json.loads(json.dumps(body))["template"]["components"][0]["parameters"][0]["text"] == "Pérez Ñandú"


def test_the_recipient_is_e164_digits_without_plus() -> None:
    assert to_number("+57 300 123-4567") == "573001234567"


def test_the_documented_answer_gives_the_message_id() -> None:
    answer = SentAnswer.model_validate_json(json.dumps({
        "messaging_product": "whatsapp", "contacts": [{"input": "573001234567", "wa_id": "573001234567"}],
        "messages": [{"id": "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}))
    assert answer.messages[0].id.startswith("wamid.")


@pytest.mark.parametrize(("last", "open_"), [
    (None, False),  # never wrote: closed
    (NOW - dt.timedelta(hours=1), True),
    (NOW - dt.timedelta(hours=23, minutes=49), True),
    (NOW - dt.timedelta(hours=23, minutes=51), False),  # closes before the claim's send could reach Meta
    (NOW - dt.timedelta(hours=24), False),
    (NOW - dt.timedelta(days=3), False),
    (NOW + dt.timedelta(minutes=5), False),  # a message from the future is not trusted
])
def test_the_24_hour_window(last: dt.datetime | None, open_: bool) -> None:
    assert window_open(last, NOW) is open_


def test_outside_the_window_the_approved_template_with_the_accounts_values() -> None:
    message = choose_message(last_inbound=None, now=NOW, locale="es-CO", body="x", template=TEMPLATE, values=VALUES)
    assert message == TemplateMessage("cobro_saldo", "es", ("María", "Banco Andino", "$ 1.500.000,00",
                                                            "https://r.example/pay/T"),
                                      ("pay_now", "arrange_payment", "dispute_debt", "opt_out"))


def test_outside_the_window_without_an_approved_template_nothing_goes() -> None:
    with pytest.raises(NoApprovedTemplate) as e:
        choose_message(last_inbound=NOW - dt.timedelta(days=2), now=NOW, locale="es-CO", body="x", template=None,
                       values=VALUES)
    assert e.value.code == "whatsapp_template_missing" and "es-CO" in str(e.value)


def test_inside_the_window_free_form_with_buttons_and_the_opt_out_line() -> None:
    message = choose_message(last_inbound=NOW - dt.timedelta(hours=2), now=NOW, locale="es-CO",
                             body="Hola María, su saldo es $ 1.500.000,00.", template=TEMPLATE, values=VALUES)
    assert isinstance(message, InteractiveMessage)
    assert message.body == "Hola María, su saldo es $ 1.500.000,00. " + OPT_OUT_LINES["es"]
    assert [b.id for b in message.buttons] == ["pay_now", "arrange_payment", "dispute_debt"]
    assert reply_button_problems(message.buttons) == []


def test_inside_the_window_an_opt_out_line_already_there_is_not_repeated() -> None:
    body = "Hola. " + OPT_OUT_LINES["es"]
    message = choose_message(last_inbound=NOW - dt.timedelta(hours=2), now=NOW, locale="es-CO", body=body,
                             template=None, values=VALUES)
    assert isinstance(message, InteractiveMessage) and message.body == body


def test_inside_the_window_a_message_too_long_for_buttons_is_plain_text_and_longer_than_whatsapp_fails() -> None:
    long = "a" * 2000
    message = choose_message(last_inbound=NOW - dt.timedelta(hours=2), now=NOW, locale="en-US", body=long,
                             template=None, values=VALUES)
    assert message == TextMessage(f"{long} {OPT_OUT_LINES['en']}")
    with pytest.raises(MessageTooLong):
        choose_message(last_inbound=NOW - dt.timedelta(hours=2), now=NOW, locale="es-CO", body="a" * 4096,
                       template=None, values=VALUES)


@pytest.mark.parametrize("locale", ["es-CO", "en-US"])
def test_every_button_we_send_is_read_back_as_the_choice_it_offers(locale: str) -> None:
    """The inbound webhook (domain/whatsapp.py) reads a pressed button by its id or its label: each of ours means
    what it says, whether pressed in a template (payload) or in an interactive message (id and title)."""
    template = choose_message(last_inbound=None, now=NOW, locale=locale, body="x", template=TEMPLATE, values=VALUES)
    assert isinstance(template, TemplateMessage)
    for choice, payload in zip(TEMPLATE.buttons, template.button_payloads, strict=True):
        label = TEMPLATE_BUTTON_LABELS["es"][choice]
        assert meaning(InboundMessage("wamid.1", "+573001234567", "button", label, payload)).value == choice
    for button in interactive_buttons(locale):
        read = meaning(InboundMessage("wamid.2", "+573001234567", "interactive", button.title, button.id))
        assert BUTTON_IDS[read.value] == button.id


def test_template_parameters_obey_metas_whitespace_rules() -> None:
    assert parameter_text("Línea 1\nLínea 2\t     fin ") == "Línea 1 Línea 2 fin"
    assert parameter_text("") == "-"  # Meta refuses an empty parameter


def test_reply_buttons_within_metas_limits() -> None:
    four = (*interactive_buttons("es-CO"), ReplyButton("opt_out", "No deseo recibir mensajes"))
    problems = reply_button_problems(four)
    assert any("between 1 and 3" in p for p in problems) and any("1 to 20 characters" in p for p in problems)
    assert reply_button_problems((ReplyButton(" pay", "A"), ReplyButton("x", "A")))
    for locale in ("es-CO", "en-US"):
        assert reply_button_problems(interactive_buttons(locale)) == []


def test_a_template_mapping_is_checked() -> None:
    assert template_problems(TEMPLATE) == []
    problems = template_problems(ApprovedTemplate("Cobro Saldo", "spanish", ("saldo",), ("pay", "pay", "call")))
    assert len(problems) == 5, problems


@pytest.mark.parametrize(("status", "code", "transient", "says"), [
    (400, 131047, False, "re-engagement required"),
    (400, 131026, False, "undeliverable"),
    (400, 132001, False, "template does not exist"),
    (401, 190, False, "access token expired or invalid"),
    (403, 10, False, "permission denied"),
    (403, 299, False, "permission denied"),
    (400, 130429, True, "throughput"),
    (400, 131048, True, "spam rate limit"),
    (400, 131056, True, "too many messages to this recipient"),
    (400, 4, True, "too many API calls"),
    (400, 80007, True, "business account's limit"),
    (500, 2, True, "temporarily unavailable"),
    (503, None, True, "unavailable"),
    (502, 999999, True, "unavailable"),
    (429, None, True, "unavailable"),
    (400, 999999, False, "refused"),
])
def test_what_each_documented_error_means(status: int, code: int | None, transient: bool, says: str) -> None:
    detail = GraphErrorDetail(message="(#131047) Message failed to send because more than 24 hours have passed "
                              "since the customer last replied to this number +573001234567", type="OAuthException",
                              code=code, fbtrace_id="Az8or2yhqkZfEZ-_4Qn_Bam") if code is not None else None
    error = send_error(status, detail)
    assert error.transient is transient and not error.ambiguous
    assert says in error.reason and f"{status}" in error.reason
    # Meta's own message (it may quote the number) is not kept; its trace id is, for Meta's support.
    assert "3001234567" not in error.reason
    if code is not None:
        assert "Az8or2yhqkZfEZ-_4Qn_Bam" in error.reason
