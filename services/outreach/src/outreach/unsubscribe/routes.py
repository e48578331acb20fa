"""The one-click unsubscribe link of every collection e-mail (RFC 8058): a mail client's POST opts the debtor out
at once; a person who opens the link sees a page in Spanish whose button sends the same POST. Outside /v1 like
the debtor page, not part of the API schema; no key, no cookie: the signed link is the whole authority."""

from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from outreach.domain.unsubscribe import ONE_CLICK_KEY, is_one_click
from outreach.edge import State
from outreach.unsubscribe import handlers
from recaudo_common.dependencies import PlatformDep
from recaudo_common.errors import ProblemError
from recaudo_common.page_policy import for_templates
from recaudo_common.routing import AuthorisedFirstRoute

WEB = Path(__file__).parents[1] / "web"
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB), autoescape=True)
HEADERS = for_templates(WEB)
NOT_FOUND = "Este enlace no es válido. Si desea dejar de recibir correos, use el enlace del último correo recibido."
NOT_ONE_CLICK = "La solicitud no es válida. Use el botón de la página del enlace."

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/u", include_in_schema=False)


def page(name: str, status: int = 200, **values: object) -> HTMLResponse:
    # RFC 8058 section 3.2: the answer to the POST is the answer, never a redirect (a mail client follows none).
    return HTMLResponse(PAGES.get_template(name).render(**values), status_code=status, headers=HEADERS)


def refused(request: Request, status: int, code: str, title: str, message: str) -> HTMLResponse:
    """A browser gets the refusal as a page in Spanish; a mail client or any other caller, problem details."""
    if "text/html" not in request.headers.get("accept", ""):
        raise ProblemError(status, code, title, message)
    return page("message.html", status, creditor=None, error=True, message=message)


@router.get("/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: str, request: Request, platform: PlatformDep, state: State) -> HTMLResponse:
    """A GET never unsubscribes (RFC 8058 section 1: mail software and scanners fetch links by themselves): it
    asks, and its button POSTs."""
    attempt = await handlers.linked(platform.db, state.settings, token)
    if attempt is None:
        return refused(request, 404, "invalid_link", "Invalid link", NOT_FOUND)
    return page("unsubscribe.html", creditor=attempt.creditor, token=token)


@router.post("/{token}", response_class=HTMLResponse)
async def one_click(token: str, request: Request, platform: PlatformDep, state: State,
                    one_click_value: Annotated[str, Form(alias=ONE_CLICK_KEY, max_length=32)] = "") -> HTMLResponse:
    """RFC 8058 section 3.2: a POST whose body is List-Unsubscribe=One-Click (form-encoded or multipart), with no
    cookie or authorization, opts out at once; asked again, it answers the same."""
    if not is_one_click({ONE_CLICK_KEY: one_click_value}):
        if await handlers.linked(platform.db, state.settings, token) is None:
            return refused(request, 404, "invalid_link", "Invalid link", NOT_FOUND)
        return refused(request, 400, "not_one_click", "Not a one-click unsubscribe", NOT_ONE_CLICK)
    attempt = await handlers.unsubscribe(platform.db, state.settings, token, now=platform.clock())
    if attempt is None:
        return refused(request, 404, "invalid_link", "Invalid link", NOT_FOUND)
    return page("message.html", creditor=attempt.creditor,
                message=f"Listo. No le enviaremos más correos de cobranza de {attempt.creditor}.")
