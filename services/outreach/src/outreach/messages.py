"""An account's message: the client company's own template for the channel and locale (the platform's default
where it has none) rendered for the debtor, with a signed, expiring link to the debtor page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.debtors import DebtorContext, rules_of
from outreach.domain.templates import Rendered, Template, default_template, offer_text
from outreach.rendering import render_message
from outreach.settings import OutreachSettings
from outreach.templates import store as templates
from recaudo_common.payment_links import make_token


def payment_link(settings: OutreachSettings, now: dt.datetime, client: str, account_ref: str
                 ) -> tuple[str, dt.datetime]:
    """A link to the account's debtor page, signed, and when it expires."""
    expires = now + dt.timedelta(days=settings.link_ttl_days)
    token = make_token(client=client, account_ref=account_ref, expires_at=expires, secret=settings.link_secret)
    return f"{settings.public_url.rstrip('/')}/pay/{token}", expires


@dataclass
class Renderer:
    """Renders an attempt's message with the client's own template where it has one (cached per batch)."""

    s: AsyncSession
    settings: OutreachSettings
    now: dt.datetime
    cache: dict[tuple[str, str, str], Template] = field(default_factory=dict)

    async def template(self, client: str, channel: str, locale: str) -> Template:
        key = (client, channel, locale)
        if key not in self.cache:
            own = await templates.get_template(self.s, client, channel, locale)
            self.cache[key] = (Template(channel, locale, own.subject, own.body) if own
                               else default_template(channel, locale))
        return self.cache[key]

    def link(self, client: str, account_ref: str) -> tuple[str, dt.datetime]:
        return payment_link(self.settings, self.now, client, account_ref)

    async def render(self, debtor: DebtorContext, channel: str, *, default: bool = False) -> Rendered:
        """Off the event loop and within the render budget; raises TemplateError (TemplateTooExpensive) when the
        client's template fails on this account, and the caller fails that message only."""
        template = (default_template(channel, debtor.locale) if default
                    else await self.template(debtor.client, channel, debtor.locale))
        return await render_message(template, self.settings, **self.facts(debtor))

    def facts(self, debtor: DebtorContext) -> dict[str, Any]:
        """What a template is rendered from for this account (domain.templates.template_values formats them)."""
        link, expires = self.link(debtor.client, debtor.account_ref)
        return dict(
            creditor=debtor.creditor, debtor_name=debtor.first_name, account_ref=debtor.account_ref,
            balance=debtor.balance, currency=debtor.currency, days_past_due=debtor.days_past_due_at(self.now),
            offer=offer_text(debtor.offer, debtor.offer_discount_pct, debtor.balance, debtor.currency, debtor.locale),
            payment_link=link, link_expires=expires.date(), opt_out_required=rules_of(debtor).opt_out_line)
