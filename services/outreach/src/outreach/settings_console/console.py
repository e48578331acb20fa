"""The console's client company settings (#23): one page per client company with its general settings, contact
rules, costs, commission, templates (with a live preview), WhatsApp channel and payment gateways. Thin: each section
is the page's script reading and saving through the owning service's /v1 API with the session cookie and the CSRF
token (If-Match where the route takes it); operators and supervisors edit, the client company's own people read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from outreach.domain.templates import LOCALES
from outreach.store import SCHEMA
from recaudo_common.client_copy import client_names
from recaudo_common.console import page, pages_of, script
from recaudo_common.console.client_pages import ClientReader, client_reader, refusal
from recaudo_common.console.visitor import Visitor, to_own_client, to_sign_in, visitor
from recaudo_common.dependencies import PlatformDep
from recaudo_common.events import Channel
from recaudo_common.routing import AuthorisedFirstRoute

HERE = Path(__file__).parent / "console_templates"
PAGES = pages_of(HERE)
SHOWN = 100  # client companies listed on one page of the choice
HEADING = "Ajustes"
REFUSED_ROLE = ("Su rol no permite ver los ajustes de las empresas cliente: son de los operadores, los supervisores "
                "y las personas de la propia empresa.")
CHANNEL_LABELS: dict[Channel, str] = {"sms": "SMS", "email": "Correo electrónico", "whatsapp": "WhatsApp",
                                      "voice": "Llamada automática", "agent": "Agente", "letter": "Carta"}

router = APIRouter(prefix="/console/settings", tags=["console"], include_in_schema=False,
                   route_class=AuthorisedFirstRoute)


def _refusal(person: Visitor, status: int, message: str) -> Response:
    return refusal(person.principal, HEADING, status, message)


@router.get("/settings.js", include_in_schema=False)
async def settings_script() -> Response:
    """The page's own script (the console's CSP runs scripts of our own origin only, never inline)."""
    return script(HERE / "settings.js")


@router.get("")
async def choose_client(request: Request, platform: PlatformDep,
                        after: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    """A client company's person goes straight to its own settings; an operator or supervisor chooses among the
    client companies they may see, by slug, a hundred at a time (`after`: the last slug shown)."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    if (own := to_own_client(person.principal, router.prefix)) is not None:
        return own
    if not person.principal.has_role("operator"):
        return _refusal(person, 403, REFUSED_ROLE)
    async with platform.db.transaction() as s:
        clients = await client_names(s, SCHEMA, person.principal.client_scope, after=after, limit=SHOWN + 1)
    more = clients[SHOWN - 1].slug if len(clients) > SHOWN else None
    return page("settings_clients.html", pages=PAGES, clients=clients[:SHOWN],
                more=f"{router.prefix}?{urlencode({'after': more})}" if more else None, layout=person.layout())


@router.get("/{slug}")
async def settings_page(slug: str, request: Request, platform: PlatformDep) -> Response:
    """The client company's settings in sections; editable for operators and supervisors, read-only for the client
    company's own people; another company's is not found."""
    found = await client_reader(request, platform, schema=SCHEMA, slug=slug, heading=HEADING,
                                refused_role=REFUSED_ROLE)
    if not isinstance(found, ClientReader):
        return found
    client = found.client
    return page("settings.html", pages=PAGES, slug=client.slug, client=client.name,
                can_edit=found.person.principal.has_role("operator"), channels=CHANNEL_LABELS, locales=LOCALES,
                locale=client.locale, layout=found.person.layout())
