"""WhatsApp at the claim, for a client company on Meta's Cloud API: its attempts go through that provider (the
settings' WhatsApp provider serves the others), and each message is chosen under the 24-hour window: the approved
template outside it, the collection message with reply buttons inside it (domain/whatsapp_window.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.debtors import DebtorContext
from outreach.domain.templates import Rendered, template_values
from outreach.domain.whatsapp_window import (
    NoApprovedTemplate,
    TextMessage,
    WhatsAppMessage,
    choose_message,
    window_open,
)
from outreach.messages import Renderer
from outreach.providers import Provider, Providers
from outreach.templates.whatsapp import approved_template
from recaudo_common.db import sql


async def last_inbound_at(s: AsyncSession, client: str, phone: str) -> dt.datetime | None:
    """When the debtor last wrote to the client company's WhatsApp number (the webhook keeps each message)."""
    found = await s.scalar(sql(
        "SELECT max(received_at) FROM outreach.whatsapp_inbound WHERE client_slug = :c AND sender = :p"),
        {"c": client, "p": phone})
    return found if isinstance(found, dt.datetime) else None


@dataclass
class WhatsAppRouting:
    """Which client companies send WhatsApp through the Cloud API, asked once per claim."""

    providers: Providers
    on_cloud: dict[str, bool] = field(default_factory=dict)

    async def provider(self, s: AsyncSession, client: str, channel: str) -> Provider | None:
        cloud = self.providers.whatsapp_cloud
        if channel == "whatsapp":
            if client not in self.on_cloud:
                self.on_cloud[client] = await cloud.configured(s, client)
            if self.on_cloud[client]:
                return cloud
        return self.providers.for_channel(channel)


async def cloud_message(s: AsyncSession, renderer: Renderer, debtor: DebtorContext, recipient: str,
                        rendered: Rendered, now: dt.datetime) -> WhatsAppMessage:
    """The message for this attempt; raises TemplateError (NoApprovedTemplate) when it may not go out."""
    facts = renderer.facts(debtor)
    values = template_values("whatsapp", debtor.locale, **facts)
    return choose_message(
        last_inbound=await last_inbound_at(s, debtor.client, recipient), now=now, locale=debtor.locale,
        body=rendered.body, template=await approved_template(s, debtor.client, debtor.locale), values=values)


async def confirmation_message(s: AsyncSession, debtor: DebtorContext, recipient: str, rendered: Rendered,
                          now: dt.datetime) -> WhatsAppMessage:
    """A payment confirmation on the Cloud API: as text inside the 24-hour window. Outside it Meta takes only an
    approved template, and the client company's is the collection message, not a receipt: nothing may be sent
    (NoApprovedTemplate; the attempt fails with that reason)."""
    if not window_open(await last_inbound_at(s, debtor.client, recipient), now):
        raise NoApprovedTemplate(debtor.locale)
    return TextMessage(rendered.body)
