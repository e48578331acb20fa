"""Templates: a client company's own message per channel and locale, checked before it is saved (syntax, known
variables, the opt-out line where the law asks for it, its rendering on a sample account within the budget)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal

from outreach.domain.contact_law import stricter_rules
from outreach.domain.templates import (
    DEFAULT_LOCALE,
    LOCALES,
    Rendered,
    Template,
    TemplateError,
    TemplateTooExpensive,
    default_template,
    offer_text,
)
from outreach.rendering import preview_before_saving, render_message
from outreach.settings import OutreachSettings
from outreach.templates import store as templates
from outreach.templates.store import OwnTemplate
from recaudo_common.client_copy import ClientCopy
from recaudo_common.db import Database
from recaudo_common.domain_errors import Invalid, NotFound
from recaudo_common.preconditions import IfMatch, check_if_match, etag_of

CHANNELS = ("sms", "email", "whatsapp", "voice", "agent", "letter")


@dataclass(frozen=True)
class SampleAccount:
    """The sample account every preview renders (no debtor's data)."""

    creditor: str
    debtor_name: str
    account_ref: str
    balance: Decimal
    currency: str
    days_past_due: int
    offer: str | None
    payment_link: str
    link_expires: dt.date


@dataclass(frozen=True)
class TemplateView:
    """A template in force (the client's own, or the default) and its rendering on the sample account; a stored
    template that no longer renders has no rendering but the problem that stops it."""

    template: Template
    own: OwnTemplate | None
    rendered: Rendered | None
    problem: TemplateError | None = None


def sample(client: ClientCopy, locale: str, settings: OutreachSettings, now: dt.datetime) -> SampleAccount:
    balance = Decimal("1234567.89")
    return SampleAccount(
        creditor=client.name, debtor_name="María", account_ref="OBL-000123", balance=balance,
        currency=client.currency, days_past_due=45,
        # An unknown locale is refused by the validation that runs first; the sample must not fail on it.
        offer=offer_text("settlement", Decimal(20), balance, client.currency,
                         locale if locale in LOCALES else DEFAULT_LOCALE),
        payment_link=f"{settings.public_url.rstrip('/')}/pay/EJEMPLO",
        link_expires=(now + dt.timedelta(days=settings.link_ttl_days)).date())


async def view(client: ClientCopy, channel: str, locale: str, own: OwnTemplate | None, settings: OutreachSettings,
               now: dt.datetime) -> TemplateView:
    """A stored template whose preview fails (saved before saves were checked, or failing since) is shown
    with the reason instead of a preview: a read never fails because of one template."""
    template = Template(channel, locale, own.subject, own.body) if own else default_template(channel, locale)
    try:
        rendered = await render_message(template, settings, **asdict(sample(client, locale, settings, now)),
                                        opt_out_required=stricter_rules(client.country, None).opt_out_line)
    except TemplateError as e:
        return TemplateView(template, own, None, e)
    return TemplateView(template, own, rendered)


def template_etag(template: Template, own: OwnTemplate | None) -> str:
    """The ETag of a template as read: the client company's own by its saved version, else the default's text."""
    if own is not None:
        return etag_of(own.channel, own.locale, own.version)
    return etag_of(template.channel, template.locale, "default", template.subject, template.body)


async def list_templates(db: Database, settings: OutreachSettings, *, client: ClientCopy, now: dt.datetime
                         ) -> list[TemplateView]:
    """Every channel's template in the client company's locale, and any other locale it has its own for."""
    async with db.transaction() as s:
        own = {(t.channel, t.locale): t for t in await templates.list_templates(s, client.slug)}
    keys = sorted({(c, client.locale) for c in CHANNELS} | set(own))
    return [await view(client, c, loc, own.get((c, loc)), settings, now) for c, loc in keys]


async def get_template(db: Database, settings: OutreachSettings, *, client: ClientCopy, channel: str, locale: str,
                       now: dt.datetime) -> TemplateView:
    if locale not in LOCALES:
        raise NotFound(f"locale {locale!r}")
    async with db.transaction() as s:
        own = await templates.get_template(s, client.slug, channel, locale)
    return await view(client, channel, locale, own, settings, now)


async def preview_template(settings: OutreachSettings, *, client: ClientCopy, channel: str, locale: str,
                           subject: str | None, body: str, now: dt.datetime) -> Rendered:
    """A template not saved yet rendered on the sample account, with every check a save runs (the same renderer
    and budget that sends); nothing is stored. Refused with the reason, as a save would be."""
    template = Template(channel, locale, subject, body)
    try:
        return await preview_before_saving(template, settings, **asdict(sample(client, locale, settings, now)),
                                           opt_out_required=stricter_rules(client.country, None).opt_out_line)
    except TemplateError as e:
        raise Invalid(e.code, str(e), title="Template too expensive" if isinstance(e, TemplateTooExpensive)
                      else "Invalid template") from e


async def save_template(db: Database, settings: OutreachSettings, *, client: ClientCopy, channel: str, locale: str,
                        subject: str | None, body: str, now: dt.datetime, if_match: IfMatch | None = None
                        ) -> TemplateView:
    """Saved once it has passed every check, before anything is stored; refused with the reason otherwise. With
    `if_match`, only if the template in force is still the one the caller read."""
    template = Template(channel, locale, subject, body)
    rendered = await preview_template(settings, client=client, channel=channel, locale=locale, subject=subject,
                                      body=body, now=now)
    async with db.transaction() as s:
        if if_match is not None:
            await templates.lock_template(s, client.slug, channel, locale)
            current = await templates.get_template(s, client.slug, channel, locale)
            check_if_match(if_match, template_etag(default_template(channel, locale), current), "the template")
        await templates.put_template(s, client=client.slug, channel=channel, locale=locale, subject=subject,
                                     body=body, now=now)
        own = await templates.get_template(s, client.slug, channel, locale)
    return TemplateView(template, own, rendered)
