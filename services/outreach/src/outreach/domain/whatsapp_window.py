"""WhatsApp Business (Cloud API) rules for an outbound collection message: the 24-hour customer-service window,
an approved template outside it and a free-form message inside it, and the reply buttons a debtor answers with.

Meta's rules, as documented:
- Outside the customer-service window (24 hours since the user's last message to the business) only an approved
  template may be sent; any other message is refused with error 131047 ("Re-engagement message").
  https://developers.facebook.com/docs/whatsapp/conversation-types#customer-service-window
  https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
- Interactive reply buttons: at most 3 buttons, each title at most 20 characters, id at most 256; body text at
  most 1,024 characters.
  https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-messages
- A text message's body: at most 4,096 characters.
  https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/text-messages/
- A template's quick-reply buttons are part of the approved template (their labels, up to 25 characters, are
  Meta's copy); a send only gives each one, by its index, the payload the webhook returns when it is pressed.
  https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from outreach.domain.template_sandbox import TemplateError
from outreach.domain.templates import OPT_OUT_LINES, VARIABLES
from outreach.domain.whatsapp import REPLY_BUTTONS, Meaning

WINDOW = dt.timedelta(hours=24)
# A message is decided at its claim and handed over within the claim's lease: a window that closes before the
# send would be refused (131047), so a window about to close counts as closed.
WINDOW_MARGIN = dt.timedelta(minutes=10)

MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_INTERACTIVE_BODY = 1024
MAX_TEXT_BODY = 4096
MAX_TEMPLATE_BUTTONS = 10  # quick replies in one template
MAX_TEMPLATE_PARAMETERS = 20

# The collection choices a message offers, in the business's words (a template mapping names them so).
PAY, ARRANGE, DISPUTE, OPT_OUT = (Meaning.PAY.value, Meaning.ARRANGE.value, Meaning.DISPUTE.value,
                                  Meaning.OPT_OUT.value)
COLLECTION_BUTTONS = (PAY, ARRANGE, DISPUTE, OPT_OUT)
# Each one's button id (a reply button's id, a quick reply's payload), as the inbound side reads it back: stable,
# since a debtor may press a button days after it was sent.
BUTTON_IDS: dict[str, str] = {meaning.value: button_id for button_id, (meaning, _) in REPLY_BUTTONS.items()}
# Their labels as an approved template shows them (Meta's copy; 25 characters at most there).
TEMPLATE_BUTTON_LABELS = {
    "es": {PAY: "Pagar ahora", ARRANGE: "Acordar un pago", DISPUTE: "No reconozco la deuda",
           OPT_OUT: "No deseo recibir mensajes"},
    "en": {PAY: "Pay now", ARRANGE: "Arrange a payment", DISPUTE: "I don't owe this", OPT_OUT: "Stop messages"},
}
# Inside the window, as interactive reply buttons: three at most and 20 characters each, so the opt-out is the
# body's own line ("Responda BAJA ..."), which the inbound side honours like the button.
INTERACTIVE_BUTTON_TITLES = {
    "es": {PAY: "Pagar ahora", ARRANGE: "Acordar un pago", DISPUTE: "No reconozco deuda"},
    "en": {PAY: "Pay now", ARRANGE: "Arrange a payment", DISPUTE: "Not my debt"},
}

# Meta's template names: lowercase letters, digits and underscores (at most 512); language codes such as
# "es", "es_MX", "en_US".
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")


@dataclass(frozen=True)
class ApprovedTemplate:
    """A client company's template approved by Meta for a locale: its name and language there, which of our
    variables fill its body's {{1}}, {{2}}, ... in order, and which collection choice each of its quick-reply
    buttons carries, in their order."""

    name: str
    language: str
    parameters: tuple[str, ...]
    buttons: tuple[str, ...]


@dataclass(frozen=True)
class ReplyButton:
    id: str
    title: str


@dataclass(frozen=True)
class TemplateMessage:
    """An approved template: its body parameters' texts and its quick replies' payloads, in order."""

    name: str
    language: str
    parameters: tuple[str, ...]
    button_payloads: tuple[str, ...]
    kind: str = "template"


@dataclass(frozen=True)
class InteractiveMessage:
    """A free-form message with reply buttons (inside the window only)."""

    body: str
    buttons: tuple[ReplyButton, ...]
    kind: str = "interactive"


@dataclass(frozen=True)
class TextMessage:
    """A free-form text message (inside the window only)."""

    body: str
    kind: str = "text"


WhatsAppMessage = TemplateMessage | InteractiveMessage | TextMessage


class NoApprovedTemplate(TemplateError):
    """Outside the window and no approved template for the client company's locale: nothing may be sent."""

    code = "whatsapp_template_missing"

    def __init__(self, locale: str) -> None:
        super().__init__(f"no approved WhatsApp template for {locale}: outside the 24-hour window only an approved "
                         "template may be sent", reason="no approved WhatsApp template")


class MessageTooLong(TemplateError):
    code = "whatsapp_message_too_long"

    def __init__(self, length: int) -> None:
        super().__init__(f"the message has {length} characters; WhatsApp takes at most {MAX_TEXT_BODY}",
                         reason="the message is too long for WhatsApp")


def window_open(last_inbound: dt.datetime | None, now: dt.datetime, margin: dt.timedelta = WINDOW_MARGIN) -> bool:
    """Whether the customer-service window is open for a send decided at `now`: the debtor wrote to the client
    company's number less than 24 hours ago (less the margin). Never written: closed."""
    return last_inbound is not None and last_inbound <= now and now + margin < last_inbound + WINDOW


def template_problems(template: ApprovedTemplate) -> list[str]:
    """What makes a template mapping unusable; empty when it is fine."""
    problems: list[str] = []
    if not TEMPLATE_NAME.match(template.name):
        problems.append("name: lowercase letters, digits and underscores only, as approved by Meta")
    if not LANGUAGE_CODE.match(template.language):
        problems.append("language: a WhatsApp language code such as es, es_MX or en_US")
    if unknown := sorted(set(template.parameters) - set(VARIABLES)):
        problems.append(f"unknown variable(s): {', '.join(unknown)}; known: {', '.join(sorted(VARIABLES))}")
    if len(template.parameters) > MAX_TEMPLATE_PARAMETERS:
        problems.append(f"at most {MAX_TEMPLATE_PARAMETERS} parameters")
    if unknown := sorted(set(template.buttons) - set(COLLECTION_BUTTONS)):
        problems.append(f"unknown button(s): {', '.join(unknown)}; known: {', '.join(COLLECTION_BUTTONS)}")
    if len(set(template.buttons)) != len(template.buttons):
        problems.append("a button appears twice")
    if len(template.buttons) > MAX_TEMPLATE_BUTTONS:
        problems.append(f"at most {MAX_TEMPLATE_BUTTONS} quick-reply buttons")
    return problems


def parameter_text(value: object) -> str:
    """A value as a template's text parameter: Meta refuses new lines, tabs and more than four spaces in a row
    (and an empty parameter), so whitespace is collapsed and an empty value is a dash."""
    text = " ".join(str(value).split())
    return text or "-"


def language_of(locale: str) -> str:
    return "en" if locale.startswith("en") else "es"


def interactive_buttons(locale: str) -> tuple[ReplyButton, ...]:
    titles = INTERACTIVE_BUTTON_TITLES[language_of(locale)]
    return tuple(ReplyButton(BUTTON_IDS[c], titles[c]) for c in (PAY, ARRANGE, DISPUTE))


def choose_message(*, last_inbound: dt.datetime | None, now: dt.datetime, locale: str, body: str,
                   template: ApprovedTemplate | None, values: Mapping[str, object]) -> WhatsAppMessage:
    """The message to send: inside the window the rendered collection message with the reply buttons (as plain
    text when it is too long for buttons), always ending with the opt-out line; outside it, the client company's
    approved template with its parameters from the account's values (NoApprovedTemplate when there is none)."""
    if not window_open(last_inbound, now):
        if template is None:
            raise NoApprovedTemplate(locale)
        return TemplateMessage(template.name, template.language,
                               tuple(parameter_text(values.get(p, "")) for p in template.parameters),
                               tuple(BUTTON_IDS[b] for b in template.buttons))
    opt_out = OPT_OUT_LINES[language_of(locale)]
    text = body if opt_out in body else f"{body} {opt_out}".strip()
    if len(text) > MAX_TEXT_BODY:
        raise MessageTooLong(len(text))
    if len(text) > MAX_INTERACTIVE_BODY:
        return TextMessage(text)
    return InteractiveMessage(text, interactive_buttons(locale))


def reply_button_problems(buttons: tuple[ReplyButton, ...]) -> list[str]:
    """Meta's limits on interactive reply buttons (checked before anything is posted)."""
    problems: list[str] = []
    if not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
        problems.append(f"between 1 and {MAX_REPLY_BUTTONS} reply buttons")
    for b in buttons:
        if not b.title or len(b.title) > MAX_BUTTON_TITLE:
            problems.append(f"button title of 1 to {MAX_BUTTON_TITLE} characters: {b.title!r}")
        if not b.id or len(b.id) > MAX_BUTTON_ID or b.id != b.id.strip():
            problems.append(f"button id of 1 to {MAX_BUTTON_ID} characters, no surrounding spaces: {b.id!r}")
    if len({b.title for b in buttons}) != len(buttons):
        problems.append("button titles must be unique")
    return problems
