"""The console's agent desk (#23): a signed-in agent (or operator, supervisor) picks a client company, takes the next
call, reads the account and the script, and logs the outcome with an optional promise. Thin: the page's script
calls the agent desk's /v1 API with the session cookie (and its CSRF token on the POST); no business logic here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from outreach.store import SCHEMA
from recaudo_common.console import AMOUNTS_SCRIPT, amounts_style, page, pages_of, script
from recaudo_common.console.visitor import to_sign_in, visitor
from recaudo_common.db import sql
from recaudo_common.dependencies import PlatformDep
from recaudo_common.money import MARKS
from recaudo_common.routing import AuthorisedFirstRoute

HERE = Path(__file__).parent
PAGES = pages_of(HERE / "console_templates")
DESK_ROLES = ("agent", "operator", "supervisor")  # the API's AGENT_DESK (a supervisor counts as an operator)

# Under /console/agent, a prefix of its own, so the gateway sends these pages to outreach and not to ingest's /console.
router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/console/agent", tags=["console"], include_in_schema=False)


@dataclass(frozen=True)
class ClientChoice:
    """A client company the person may work, with the marks its locale writes amounts with (to read a promise's
    amount as typed) and the style the server writes its amounts in (`amounts`, money.amount_style as JSON for
    amounts.js: the currency's symbol and decimals, none for CLP)."""

    slug: str
    name: str
    currency: str
    timezone: str
    locale: str
    amounts: str
    group: str
    decimal: str


@router.get("", response_class=HTMLResponse)
async def desk_page(request: Request, platform: PlatformDep) -> Response:
    """The agent desk: the client companies the person may see; the call, script and outcome form come by script."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    principal = person.principal
    if principal.role not in DESK_ROLES:
        return page("agent_desk.html", pages=PAGES, status=403, refused=True, clients=[], layout=person.layout())
    async with platform.db.transaction() as s:
        rows = (await s.execute(sql(f"SELECT slug, name, currency, timezone, locale FROM {SCHEMA}.clients "
                                    "ORDER BY name, slug"))).all()
    clients = [ClientChoice(r[0], r[1], r[2], r[3], r[4], amounts_style(r[2], r[4]), *MARKS.get(r[4], (".", ",")))
               for r in rows if principal.can_see_client(r[0])]
    return page("agent_desk.html", pages=PAGES, refused=False, clients=clients, layout=person.layout())


@router.get("/desk.js", include_in_schema=False)
async def desk_script() -> FileResponse:
    """The page's script, served from here: the console's policy runs only scripts of our own origin."""
    return FileResponse(HERE / "console_templates" / "desk.js", media_type="application/javascript",
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get("/amounts.js", include_in_schema=False)
async def amounts_script() -> Response:
    """The script that writes the desk's amounts as the server writes them (loaded before the desk's own): the
    balance reads as the platform's call script and every message say it."""
    return script(AMOUNTS_SCRIPT)

