"""E-mail's own rules: the signed one-click unsubscribe link of RFC 8058 and its header fields, what a mail
client's POST must say, and which refusals at RCPT TO mean an address is dead (delivery status notifications
that come later: domain/delivery_reports.py)."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass

from recaudo_common.payment_links import sign, signed

# The label every unsubscribe link's payload starts with. ':' is outside base64url, so no payment link's payload
# (base64url parts joined by dots) can start with it: the same secret signs both kinds, neither passes for the other.
LABEL = "unsubscribe:"
# RFC 8058 section 3.1: "List-Unsubscribe-Post: List-Unsubscribe=One-Click", exactly; section 3.2: the receiver's
# POST carries that same key and value as its body (application/x-www-form-urlencoded or multipart/form-data).
ONE_CLICK_KEY = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
LIST_UNSUBSCRIBE_POST = f"{ONE_CLICK_KEY}={ONE_CLICK_VALUE}"


@dataclass(frozen=True)
class UnsubscribeTarget:
    """What a valid link names: the attempt whose message carried it (one client company's, one account's, one
    channel's: the attempt binds them) and the channel to stop."""

    attempt_id: uuid.UUID
    channel: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsubscribe_token(attempt_id: uuid.UUID, channel: str, secret: str) -> str:
    """`channel.attempt.signature`: the attempt's id (16 random bytes, base64url) and the channel, signed with the
    platform's link secret. RFC 8058 section 3.1 asks for "an opaque identifier or another hard-to-forge
    component": it names no address, no name and no id number, and nobody can make one for another attempt."""
    body = f"{channel}.{_b64(attempt_id.bytes)}"
    return f"{body}.{sign(LABEL + body, secret)}"


def read_unsubscribe_token(token: str, secret: str) -> UnsubscribeTarget | None:
    """The link's attempt and channel, or None when it is malformed or its signature is not the platform's. It
    does not expire: RFC 8058 expects the link of any message received to keep working."""
    parts = token.split(".")
    if len(parts) != 3 or not re.fullmatch(r"[a-z]{1,16}", parts[0]) or len(token) > 100:
        return None
    channel, attempt, signature = parts
    if not signed(f"{LABEL}{channel}.{attempt}", signature, secret):
        return None
    try:
        raw = base64.urlsafe_b64decode(attempt + "=" * (-len(attempt) % 4))
        return UnsubscribeTarget(uuid.UUID(bytes=raw), channel)
    except (ValueError, binascii.Error):
        return None


def list_unsubscribe_headers(url: str) -> list[tuple[str, str]]:
    """The header fields of RFC 8058 section 3.1 for a message whose one-click link is `url` (HTTPS in production,
    section 3.1: "MUST ... contain one HTTPS URI"), as in its section 8 example:
        List-Unsubscribe: <https://example.com/unsubscribe/opaquepart>
        List-Unsubscribe-Post: List-Unsubscribe=One-Click
    No mailto (RFC 2369 allows one): nothing reads a mailbox here, and a link that is not honoured is worse than
    none. Both fields are covered by the DKIM signature when there is one (RFC 8058 section 4)."""
    if any(c in url for c in "<>, \r\n"):
        raise ValueError("an unsubscribe URL must be a bare URI")
    return [("List-Unsubscribe", f"<{url}>"), ("List-Unsubscribe-Post", LIST_UNSUBSCRIBE_POST)]


def is_one_click(fields: dict[str, str]) -> bool:
    """Whether a POST's form says what RFC 8058 section 3.2 says a mail client sends: List-Unsubscribe=One-Click."""
    return fields.get(ONE_CLICK_KEY, "").strip() == ONE_CLICK_VALUE


# ------------------------------------------------------------------ dead addresses

_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


def address_is_dead(code: int, text: str) -> bool:
    """Whether a mail server's refusal of a recipient (RFC 5321 reply code and text, with its RFC 3463 enhanced
    status when it gives one) says the address itself will never take mail: a permanent (5yz) reply whose
    enhanced status is an addressing one (5.1.x: no such mailbox, bad domain, bad syntax, moved) or a disabled
    mailbox (5.2.1); without an enhanced status, 550 "mailbox unavailable", 551 "user not local" or 553 "mailbox
    name not allowed" (RFC 5321 section 4.2.3). A policy refusal (5.7.x: our message, our reputation) or a full
    mailbox (5.2.2) says nothing against the address; a 4yz reply is transient."""
    if code < 500 or code > 599:
        return False
    enhanced = _ENHANCED.search(text)
    if enhanced is not None:
        klass, subject, detail = enhanced.groups()
        return klass == "5" and (subject == "1" or (subject, detail) == ("2", "1"))
    return code in (550, 551, 553)
