"""Email through an SMTP server, one message a session; SMTP cannot be asked whether it has a message, so a send
left in doubt names the Message-ID to look for in the mail server's log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from outreach.providers.base import Lookup, OneByOne, OutboundMessage, SendError, Sent
from outreach.settings import OutreachSettings


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

    async def _send(self, message: OutboundMessage) -> Sent:
        email = EmailMessage()
        email["From"] = self.settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Message-ID"] = f"<{self.message_id(message)}>"
        email["X-Recaudo-Attempt"] = str(message.attempt_id)
        email.set_content(message.body, charset="utf-8")
        session = _SmtpSession(hostname=self.settings.smtp_host, port=self.settings.smtp_port,
                               username=self.settings.smtp_username, password=self.settings.smtp_password,
                               start_tls=self.settings.smtp_starttls, timeout=self.settings.provider_timeout_s)
        accepted = False
        try:
            async with session:
                await session.send_message(email)
                accepted = True  # the server said 250 to the DATA: a failure after this (QUIT) changes nothing
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise SendError("recipient refused by the mail server", transient=False) from e
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
