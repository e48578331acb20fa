"""Delivery status notifications (RFC 3464): what a mail server that gave up on one of our messages, or is still
trying, reports about it: the message it returns (by its Message-ID) and each recipient's action and status."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message

# RFC 3463 section 2: class.subject.detail, the class 2 (success), 4 (persistent transient) or 5 (permanent).
_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")
# RFC 5322 section 2.1.1: no header line is longer; a "Message-ID" past it is nobody's.
MAX_MESSAGE_ID = 998


@dataclass(frozen=True)
class ReportedRecipient:
    """One recipient's block (RFC 3464 section 2.3): the address it names (Final-Recipient, else
    Original-Recipient; compared with the address sent to, never kept), its Action and its Status."""

    recipient: str
    action: str
    status: str

    @property
    def failed(self) -> bool:
        """Section 2.3.3: "failed" means the server gave up, whatever the status (a 4.x.x once the message
        outlived the queue); "delayed", "delivered", "relayed" and "expanded" do not."""
        return self.action == "failed"

    @property
    def address_dead(self) -> bool:
        """Failed with a permanent status whose subject is the address itself (RFC 3463: 5.1.x addressing,
        no such mailbox or domain, bad syntax, moved; 5.2.1 mailbox disabled). A policy refusal (5.7.x: our
        message or our reputation), a full mailbox (5.2.2) or a transient 4.x.x says nothing against it."""
        found = _STATUS.fullmatch(self.status)
        if not self.failed or found is None:
            return False
        klass, subject, detail = found.groups()
        return klass == "5" and (subject == "1" or (subject, detail) == ("2", "1"))


@dataclass(frozen=True)
class DeliveryReport:
    """A multipart/report; report-type=delivery-status message, as far as it could be read."""

    message_id: str | None  # of the message it returns, without angle brackets; None when it returns none
    recipients: tuple[ReportedRecipient, ...]

    @property
    def failed(self) -> list[ReportedRecipient]:
        return [r for r in self.recipients if r.failed]

    @property
    def dead(self) -> list[ReportedRecipient]:
        return [r for r in self.recipients if r.address_dead]


def _field(block: Message, name: str) -> str:
    return str(block.get(name) or "").strip()


def _recipients(message: Message) -> tuple[ReportedRecipient, ...]:
    found: list[ReportedRecipient] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        # The first block holds the per-message fields (section 2.2), each later one a recipient's (section 2.3).
        for block in payload[1:] if isinstance(payload, list) else []:
            if not isinstance(block, Message):
                continue
            named = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
            kind, _, address = named.partition(";")
            if kind.strip().lower() != "rfc822":  # section 2.3.2: the address type; only Internet mail is ours
                continue
            # The status as RFC 3463 spells it, or none: it goes into the attempt's failure reason.
            status = _field(block, "Status").split(" ")[0]
            found.append(ReportedRecipient(address.strip().strip("<>").strip(), _field(block, "Action").lower(),
                                           status if _STATUS.fullmatch(status) else ""))
    return tuple(found)


def _returned_message_id(message: Message) -> str | None:
    for part in message.walk():
        kind = part.get_content_type()
        returned: Message | None = None
        if kind == "text/rfc822-headers":  # RFC 6522 section 4 / RFC 3462: the returned message's headers
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                returned = email.message_from_bytes(payload, policy=email.policy.compat32)
        elif kind == "message/rfc822":  # the whole message returned
            inner = part.get_payload()
            returned = inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], Message) else None
        if returned is not None and returned.get("Message-ID"):
            found = str(returned["Message-ID"]).strip().strip("<>").strip()
            return found if 0 < len(found) <= MAX_MESSAGE_ID else None
    return None


def delivery_report(raw: bytes) -> DeliveryReport | None:
    """The report `raw` is (RFC 3464 section 2: a multipart/report whose report-type is delivery-status, its
    second part message/delivery-status, its third the returned message or its headers), or None when it is no
    such report (an auto-reply, spam, anything else sent to the bounce address). A damaged report reads as far
    as it goes; the parser never executes or fetches anything."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    report_type = message.get_param("report-type")
    if message.get_content_type() != "multipart/report" or str(report_type or "").lower() != "delivery-status":
        return None
    return DeliveryReport(_returned_message_id(message), _recipients(message))
