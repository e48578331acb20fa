"""Email through an SMTP server, one message a session; SMTP cannot be asked whether it has a message, so a send
left in doubt names the Message-ID to look for in the mail server's log. Every message carries its signed
one-click unsubscribe link (RFC 8058) and, when a key is configured, a DKIM signature (RFC 6376) over it.

Bounces: a mail server that refuses the recipient at RCPT TO with a permanent addressing reply (550 5.1.1 "no
such mailbox" and the like, domain.unsubscribe.address_is_dead) fails the attempt and marks the address invalid,
in the same transaction. That is the mechanism here: the platform hands each message to its own submission
server, which refuses at RCPT what it knows to be dead and relays the rest. A bounce that comes later, as a
delivery status notification (RFC 3464) to the envelope sender, is applied by unsubscribe.bounces (matched by
the Message-ID it returns): the envelope sender is the configured bounce address (settings.envelope_sender), whose
mail outreach's bounce receiver takes (unsubscribe/receiver.py; docs/architecture.md, "Outreach")."""

from __future__ import annotations

import datetime as dt
import email.policy
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
import dkim

from outreach.domain.unsubscribe import address_is_dead, list_unsubscribe_headers, unsubscribe_token
from outreach.providers.base import Lookup, OneByOne, OutboundMessage, SendError, Sent
from outreach.settings import OutreachSettings

# RFC 5322 lines, CRLF; a header field is folded only where it has white space (a URI in angle brackets never
# is: RFC 2369 section 2 lets a client ignore a URI broken by folding, so the policy may not break one up).
POLICY = email.policy.SMTP.clone(max_line_length=998)
# What the DKIM signature covers: RFC 6376 section 5.4.1's recommended fields, and RFC 8058 section 4's
# requirement that it cover List-Unsubscribe and List-Unsubscribe-Post.
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
                  b"content-transfer-encoding", b"list-unsubscribe", b"list-unsubscribe-post")


class _SmtpSession(aiosmtplib.SMTP):
    """An SMTP session that notes when the message itself started to go out (DATA): a connection lost after
    that may have left the message with the server, or not."""

    data_started = False

    async def data(self, message: str | bytes, /, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_started = True
        return await super().data(message, **kwargs)


class Smtp(OneByOne):
    """Email through an SMTP server. The Message-ID is made from the attempt id, so the message a lost
    connection left in doubt can be found in the mail server's log; SMTP offers no way to ask."""

    name = "smtp"
    channels = frozenset({"email"})
    cost = Decimal("0.001")
    max_batch = 1

    def __init__(self, settings: OutreachSettings) -> None:
        self.settings = settings
        self.domain = settings.smtp_from.rpartition("@")[2] or "recaudo"

    def message_id(self, message: OutboundMessage) -> str:
        return f"{message.attempt_id}@{self.domain}"

    def unsubscribe_url(self, message: OutboundMessage) -> str:
        token = unsubscribe_token(message.attempt_id, message.channel, self.settings.link_secret)
        return f"{self.settings.public_url.rstrip('/')}/u/{token}"

    def compose(self, message: OutboundMessage) -> bytes:
        """The message as it goes over the wire: RFC 5322 with CRLF, its unsubscribe fields, DKIM-signed first
        when a key is configured."""
        email = EmailMessage(policy=POLICY)
        email["From"] = self.settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = f"<{self.message_id(message)}>"
        email["X-Recaudo-Attempt"] = str(message.attempt_id)
        for name, value in list_unsubscribe_headers(self.unsubscribe_url(message)):
            email[name] = value
        # Quoted-printable: 7-bit on the wire, so no server's lack of 8BITMIME can alter what was signed.
        email.set_content(message.body, charset="utf-8", cte="quoted-printable")
        raw = email.as_bytes()
        selector, domain, key = (self.settings.smtp_dkim_selector, self.settings.smtp_dkim_domain,
                                 self.settings.smtp_dkim_private_key)
        if selector and domain and key:
            raw = dkim.sign(raw, selector.encode(), domain.encode(), key.encode(), include_headers=list(
                SIGNED_HEADERS), linesep=b"\r\n") + raw
        return raw

    async def _send(self, message: OutboundMessage) -> Sent:
        raw = self.compose(message)
        session = _SmtpSession(hostname=self.settings.smtp_host, port=self.settings.smtp_port,
                               username=self.settings.smtp_username, password=self.settings.smtp_password,
                               start_tls=self.settings.smtp_starttls, timeout=self.settings.provider_timeout_s)
        accepted = False
        try:
            async with session:
                # The envelope sender (the Return-Path) is the bounce address when one is configured, so a server
                # that gives up on the message later sends its delivery status notification to the receiver.
                await session.sendmail(self.settings.envelope_sender, [message.recipient], raw)
                accepted = True  # the server said 250 to the DATA: a failure after this (QUIT) changes nothing
        except aiosmtplib.SMTPRecipientsRefused as e:
            # The reason names the reply's code and enhanced status only: a server's text may quote the address.
            refused = e.recipients[0] if e.recipients else None
            code = refused.code if refused is not None else 550
            text = refused.message if refused is not None else ""
            status = next((w for w in text.split() if w[:2] in ("4.", "5.") and w.count(".") == 2), "")
            raise SendError(f"recipient refused by the mail server: {code} {status}".rstrip(), transient=code < 500,
                            contact_point_invalid=address_is_dead(code, text)) from e
        except aiosmtplib.SMTPResponseException as e:  # the server answered: it did not take the message
            if not accepted:
                raise SendError(f"SMTP {e.code}", transient=e.code < 500) from e
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            if accepted:
                pass
            elif session.data_started:
                raise SendError(f"SMTP connection lost during DATA: {type(e).__name__}", transient=True,
                                ambiguous=True) from e
            else:
                raise SendError(f"SMTP unavailable: {type(e).__name__}", transient=True) from e
        return Sent(self.message_id(message))

    async def look_up(self, message: OutboundMessage, since: dt.datetime) -> Lookup:
        return Lookup(None, self.message_id(message),
                      reason="SMTP cannot be asked: look for the Message-ID in the mail server's log")
