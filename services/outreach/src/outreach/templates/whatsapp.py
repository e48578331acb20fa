"""A client company's WhatsApp templates approved by Meta, one per locale: the name and language Meta knows it
by, which of our variables fill its body's parameters in order, and which collection choice each of its
quick-reply buttons carries. Outside the 24-hour window this is the only message WhatsApp lets us send."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.templates import LOCALES
from outreach.domain.whatsapp_window import ApprovedTemplate, template_problems
from recaudo_common.client_copy import ClientCopy
from recaudo_common.db import Database, sql
from recaudo_common.domain_errors import Invalid, NotFound


async def approved_template(s: AsyncSession, client: str, locale: str) -> ApprovedTemplate | None:
    row = (await s.execute(sql(
        "SELECT name, language, parameters, buttons FROM outreach.whatsapp_templates "
        "WHERE client_slug = :c AND locale = :l"), {"c": client, "l": locale})).first()
    return ApprovedTemplate(row.name, row.language, tuple(row.parameters), tuple(row.buttons)) if row else None


async def _put(s: AsyncSession, client: str, locale: str, template: ApprovedTemplate, now: dt.datetime) -> None:
    await s.execute(sql(
        """INSERT INTO outreach.whatsapp_templates (client_slug, locale, name, language, parameters, buttons,
               updated_at) VALUES (:c, :l, :n, :lang, :p, :b, :now)
           ON CONFLICT (client_slug, locale) DO UPDATE SET name = excluded.name, language = excluded.language,
               parameters = excluded.parameters, buttons = excluded.buttons, updated_at = excluded.updated_at"""),
        {"c": client, "l": locale, "n": template.name, "lang": template.language, "p": list(template.parameters),
         "b": list(template.buttons), "now": now})


async def get_approved(db: Database, *, client: ClientCopy, locale: str) -> ApprovedTemplate:
    async with db.transaction() as s:
        found = await approved_template(s, client.slug, locale)
    if found is None:
        raise NotFound(f"approved WhatsApp template for {locale}")
    return found


async def save_approved(db: Database, *, client: ClientCopy, locale: str, template: ApprovedTemplate,
                        now: dt.datetime) -> ApprovedTemplate:
    """Saved once it names a Meta template and language in their forms, only our variables and only the
    collection choices as buttons; refused with every problem otherwise."""
    problems = ([f"unknown locale {locale!r}; use one of {', '.join(LOCALES)}"] if locale not in LOCALES else [])
    if problems := problems + template_problems(template):
        raise Invalid("invalid_whatsapp_template", "; ".join(problems), title="Invalid WhatsApp template")
    async with db.transaction() as s:
        await _put(s, client.slug, locale, template, now)
    return template
