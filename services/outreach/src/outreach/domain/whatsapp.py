"""WhatsApp Business Cloud API (Meta) as pure rules: the webhook's verification handshake, its signature, what a
status means for an attempt, and what a debtor's message or button press asks for. No I/O.

Formats, as Meta documents them:
- Verification request and payload signature (X-Hub-Signature-256):
  https://developers.facebook.com/docs/graph-api/webhooks/getting-started (Verification Requests, Validating
  Payloads)
- Messages webhook (value.messages, value.statuses inside entry[].changes[]):
  https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/text
  https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/button/
  https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/interactive
  https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

from outreach.domain.replies import _plain, is_opt_out

SIGNATURE_PREFIX = "sha256="
HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
# A user's WhatsApp number as the webhook gives it: E.164 digits without the '+'.
WA_NUMBER = re.compile(r"[1-9][0-9]{6,14}")
MAX_CHALLENGE_CHARS = 256  # Meta's challenge is a short number; anything longer is not Meta's


def hub_signature(app_secret: str, raw_body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends: `sha256=` and the lowercase hex HMAC-SHA256 of the payload's
    raw bytes (as sent, Unicode escaped) keyed with the app secret."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def signature_verifies(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """Whether the header is the signature of exactly these bytes. Compared as bytes in constant time (a header
    may carry any byte, and compare_digest refuses a str that is not ASCII)."""
    if not app_secret or not header:
        return False
    return hmac.compare_digest(hub_signature(app_secret, raw_body).encode(), header.strip().lower().encode())


def verification_answer(*, mode: str | None, token: str | None, challenge: str | None,
                        verify_token: str) -> str | None:
    """The body to answer Meta's verification request with (the bare challenge), or None to refuse it: mode must be
    `subscribe` and the token the one configured (compared in constant time)."""
    if mode != "subscribe" or not token or not verify_token or challenge is None:
        return None
    if len(challenge) > MAX_CHALLENGE_CHARS or not challenge.isprintable():
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return challenge


def e164(wa_number: str) -> str | None:
    """A webhook's sender (digits, no '+') as the platform keeps phones (E.164 with '+'), or None if it is not one."""
    return f"+{wa_number}" if WA_NUMBER.fullmatch(wa_number) else None


# ------------------------------------------------------------------ statuses

# Meta's status -> the platform's receipt status. `read` implies `delivered` (Meta may skip the delivered
# notification when both happen at once); `sent` settles nothing (the send already recorded it), so a late `sent`
# never undoes a delivery. Anything else (deleted, warning) is ignored.
STATUS_RECEIPT = {"sent": "sent", "delivered": "delivered", "read": "delivered", "failed": "failed"}


@dataclass(frozen=True)
class StatusUpdate:
    """Meta's word on a message the platform sent."""

    message_id: str
    status: str  # the receipt status: sent | delivered | failed
    detail: str | None = None  # for a failure: Meta's error code and title
    attempt_id: uuid.UUID | None = None  # the attempt the message was sent for, as its callback data names it


def status_update(message_id: str, meta_status: str, errors: list[tuple[int | None, str | None]],
                  callback_data: str | None = None) -> StatusUpdate | None:
    receipt = STATUS_RECEIPT.get(meta_status)
    if receipt is None:
        return None
    detail = None
    if receipt == "failed":
        detail = "; ".join(f"{code} {title or ''}".strip() for code, title in errors) or "failed"
    return StatusUpdate(message_id, receipt, detail, attempt_named(callback_data))


def callback_data(attempt_id: uuid.UUID) -> str:
    """What a send puts in `biz_opaque_callback_data`, which Meta returns in every status of the message: its
    attempt's id, so a send whose answer was lost is still recognised when its status comes (no personal data)."""
    return str(attempt_id)


def attempt_named(data: str | None) -> uuid.UUID | None:
    """The attempt a status's callback data names, or None for data that is not one of ours."""
    if data is None or len(data) != 36:
        return None
    try:
        return uuid.UUID(data)
    except ValueError:
        return None


# ------------------------------------------------------------------ what a debtor's message asks for

class Meaning(enum.StrEnum):
    OPT_OUT = "opt_out"  # stop WhatsApp for this debtor at this client company, at once
    PAY = "pay"  # answered with the payment link
    ARRANGE = "arrange"  # answered with the debtor page (its offers)
    DISPUTE = "dispute"  # "no reconozco la deuda": a dispute hold
    AGENT = "agent"  # anything else: to the agent desk with the conversation


# The reply buttons the platform's messages carry (their id, and the label the debtor sees); a button is read by
# its id first, by its label otherwise (a template's quick reply may come back with either).
REPLY_BUTTONS: dict[str, tuple[Meaning, str]] = {
    "pay_now": (Meaning.PAY, "Pagar ahora"),
    "arrange_payment": (Meaning.ARRANGE, "Acordar un pago"),
    "dispute_debt": (Meaning.DISPUTE, "No reconozco la deuda"),
    "opt_out": (Meaning.OPT_OUT, "No deseo recibir mensajes"),
}
PHRASES: dict[str, Meaning] = {
    "pagar": Meaning.PAY, "pagar ahora": Meaning.PAY, "pay now": Meaning.PAY,
    "acordar": Meaning.ARRANGE, "acordar un pago": Meaning.ARRANGE, "acuerdo de pago": Meaning.ARRANGE,
    "no reconozco": Meaning.DISPUTE, "no reconozco la deuda": Meaning.DISPUTE, "no es mi deuda": Meaning.DISPUTE,
    "no deseo recibir mensajes": Meaning.OPT_OUT, "no quiero recibir mensajes": Meaning.OPT_OUT,
}
PRECEDENCE = (Meaning.OPT_OUT, Meaning.DISPUTE, Meaning.PAY, Meaning.ARRANGE)


@dataclass(frozen=True)
class InboundMessage:
    """A debtor's message as the webhook carries it, in the platform's words."""

    message_id: str
    sender: str  # E.164 with '+'
    kind: str  # text | button | interactive | another type Meta sends (image, audio, ...)
    text: str  # what the debtor wrote or the label they pressed ("" for media)
    reply_id: str | None = None  # the button's payload or the interactive reply's id
    context_id: str | None = None  # the platform's message it answers, when it answers one
    sent_at: dt.datetime | None = None


def _meaning_of_text(text: str) -> Meaning | None:
    if not text:
        return None
    if is_opt_out(text):
        return Meaning.OPT_OUT
    plain = _plain(text)
    if plain in REPLY_BUTTONS:
        return REPLY_BUTTONS[plain][0]
    return PHRASES.get(plain)


def meaning(message: InboundMessage) -> Meaning:
    """What the message asks for. An opt-out in any of its texts (the words, a button's label or payload, a reply's
    title or id) wins over everything else: a debtor who says stop is never sent a link instead."""
    found = set()
    for candidate in (message.text, message.reply_id or ""):
        if candidate in REPLY_BUTTONS:
            found.add(REPLY_BUTTONS[candidate][0])
        if (m := _meaning_of_text(candidate)) is not None:
            found.add(m)
    return next((m for m in PRECEDENCE if m in found), Meaning.AGENT)


def answer_text(m: Meaning, links: list[tuple[str, str]]) -> str | None:
    """The Spanish answer to a pay or arrange request: the debtor page of each account (account, link)."""
    if m not in (Meaning.PAY, Meaning.ARRANGE) or not links:
        return None
    lead = ("Puede pagar de forma segura aquí:" if m is Meaning.PAY
            else "Vea las opciones de pago y acuerdos disponibles aquí:")
    if len(links) == 1:
        return f"{lead} {links[0][1]}"
    return lead + "\n" + "\n".join(f"Cuenta {ref}: {link}" for ref, link in links)
