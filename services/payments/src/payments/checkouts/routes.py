"""Checkouts' routes: the browser's `/checkout/{ticket}` (the debtor page's signed ticket, sent on to the gateway)
and `/checkout/{reference}` (the outcome page the gateway returns the debtor to), Spanish HTML outside the API
schema; and the operator's `GET /v1/clients/{slug}/checkouts/{reference}`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path as FilePath
from typing import Annotated
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payments.api import ClientOfCaller, Settings
from payments.checkouts import handlers, vouchers
from payments.checkouts.domain import REFERENCE, Checkout, is_reference
from payments.checkouts.schemas import CheckoutOut
from payments.gateways.routes import Keyring
from recaudo_common.checkout_tickets import MAX_TICKET_CHARS, read_ticket
from recaudo_common.client_copy import ClientCopy
from recaudo_common.dependencies import PlatformDep
from recaudo_common.domain_errors import NotFound
from recaudo_common.errors import ProblemError
from recaudo_common.money import format_amount
from recaudo_common.page_policy import for_templates
from recaudo_common.routing import AuthorisedFirstRoute

WEB = FilePath(__file__).parent / "web"
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB), autoescape=True)
# The page's answer is the debtor's alone: never cached, never framed, and no Referer carries the ticket or the
# reference to the gateway or anywhere else; PayU's form's inline submit runs by its hash, the form goes to PayU.
HEADERS = for_templates(WEB)
PENDING_REFRESH_S = 10
MAX_FORM_FIELDS = 20  # the cash form has at most 10
INVALID_TICKET = ("Este enlace de pago no es válido o ya venció. Vuelva a la página de su obligación e intente "
                  "de nuevo.")

pages = APIRouter(route_class=AuthorisedFirstRoute, include_in_schema=False)
router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["payments"])


def page(name: str, code: int = 200, **values: object) -> HTMLResponse:
    return HTMLResponse(PAGES.get_template(name).render(**values), status_code=code, headers=HEADERS)


TITLES = {401: "Invalid checkout ticket", 404: "Not found", 422: "Cannot be paid", 503: "Checkout unavailable"}


def refuse(request: Request, status: int, code: str, message: str, *, back: str | None = None,
           creditor: str | None = None) -> HTMLResponse:
    """A browser gets the refusal as a page in Spanish (with the way back); anything else problem details."""
    if "text/html" not in request.headers.get("accept", ""):
        raise ProblemError(status, code, TITLES[status], message)
    return page("message.html", status, creditor=creditor, message=message, back_url=back)


def back_url(link_token: str) -> str:
    """The debtor page the checkout came from (outreach serves it on the same host)."""
    return f"/pay/{link_token}"


@pages.get("/checkout/{token}")
async def checkout_page(token: Annotated[str, Path(max_length=MAX_TICKET_CHARS)], request: Request,
                        platform: PlatformDep, settings: Settings, keyring: Keyring) -> Response:
    """A ticket (it has a '.') opens its checkout at the gateway; a payment reference shows its outcome."""
    if "." not in token:
        return await outcome_page(token, request, platform)
    now = platform.clock()
    ticket = read_ticket(token, secret=platform.settings.link_secret, now=now)
    if ticket is None:
        return refuse(request, 401, "invalid_ticket", INVALID_TICKET)
    public_url = platform.settings.public_url
    try:
        checkout, account, copy = await handlers.open_checkout(platform.db, keyring, ticket=ticket, now=now)
        if checkout.method == "cash":
            if checkout.voucher is not None or checkout.status != "created":
                return RedirectResponse(handlers.outcome_url(public_url, checkout.reference), 303, headers=HEADERS)
            return cash_page(request, token, checkout, vouchers.cash_form(account, copy), copy)
        start = await handlers.online(platform.db, settings, checkout=checkout, account=account,
                                      public_url=public_url, now=now)
    except handlers.CheckoutUnavailable as e:
        return refuse(request, e.status, e.code, str(e), back=back_url(ticket.link_token))
    if isinstance(start, handlers.Redirect):
        return RedirectResponse(start.url, status_code=303, headers=HEADERS)
    return page("payu_form.html", creditor=copy.name,
                amount=format_amount(checkout.amount, checkout.currency, copy.locale),
                action=start.form.action, fields=start.form.fields)


def cash_page(request: Request, token: str, checkout: Checkout, form: vouchers.CashForm, copy: ClientCopy, *,
              error: str | None = None) -> HTMLResponse:
    if not form.networks:
        return refuse(request, 503, "cash_unavailable", handlers.CASH_UNAVAILABLE, creditor=copy.name,
                      back=back_url(checkout.link_token))
    if error is not None and "text/html" not in request.headers.get("accept", ""):
        raise ProblemError(422, "invalid_cash_form", TITLES[422], error)
    code = 200 if error is None else 422
    return page("cash_form.html", code, creditor=copy.name,
                amount=format_amount(checkout.amount, checkout.currency, copy.locale), action=f"/checkout/{token}",
                networks=form.networks, fields=form.fields, error=error, back_url=back_url(checkout.link_token))


@pages.post("/checkout/{token}")
async def cash_voucher(token: Annotated[str, Path(max_length=MAX_TICKET_CHARS)], request: Request,
                       platform: PlatformDep, settings: Settings, keyring: Keyring) -> Response:
    """The cash form's answer: the gateway issues the voucher and the debtor sees it on the outcome page."""
    now = platform.clock()
    ticket = read_ticket(token, secret=platform.settings.link_secret, now=now)
    if ticket is None or ticket.method != "cash":
        return refuse(request, 401, "invalid_ticket", INVALID_TICKET)
    public_url = platform.settings.public_url
    async with request.form(max_files=0, max_fields=MAX_FORM_FIELDS) as answer:
        given = {k: v for k, v in answer.items() if isinstance(v, str)}
    try:
        checkout, account, copy = await handlers.open_checkout(platform.db, keyring, ticket=ticket, now=now)
        if checkout.voucher is not None or checkout.status != "created":
            return RedirectResponse(handlers.outcome_url(public_url, checkout.reference), 303, headers=HEADERS)
        form = vouchers.cash_form(account, copy)
        try:
            network, payer = vouchers.payer_of(form, given, ip_address=request.client.host if request.client else None)
        except vouchers.CashFormInvalid as e:
            return cash_page(request, token, checkout, form, copy, error=str(e))
        done = await vouchers.issue(platform.db, settings, checkout=checkout, account=account, copy=copy,
                                    network=network, payer=payer, public_url=public_url, now=now)
    except handlers.CheckoutUnavailable as e:
        return refuse(request, e.status, e.code, str(e), back=back_url(ticket.link_token))
    return RedirectResponse(handlers.outcome_url(public_url, done.reference), 303, headers=HEADERS)


def _expiry(at: dt.datetime | None, copy: ClientCopy) -> str | None:
    if at is None:
        return None
    return format_datetime(at.astimezone(ZoneInfo(copy.timezone)), "d 'de' MMMM 'de' y, h:mm a",
                           locale=copy.locale.replace("-", "_"))


async def outcome_page(reference: str, request: Request, platform: PlatformDep) -> Response:
    """What became of the checkout, as payments knows it from the gateway's notifications (never from the
    browser's return, which anyone can forge); it refreshes itself while the payment is awaited online."""
    try:
        if not is_reference(reference):
            raise NotFound("checkout")
        checkout, copy = await handlers.outcome(platform.db, reference)
    except NotFound:
        return refuse(request, 404, "not_found", "No encontramos este pago.")
    status = shown_status(checkout, platform.clock())
    voucher = None if checkout.voucher is None else {
        "network": vouchers.NETWORK_NAMES.get(checkout.voucher.network, checkout.voucher.network),
        "reference": checkout.voucher.reference,
        "expires": _expiry(checkout.voucher.expires_at, copy), "voucher_url": checkout.voucher.voucher_url}
    waiting = status in ("created", "pending") and voucher is None
    return page("outcome.html", creditor=copy.name, status=status, reference=checkout.reference,
                amount=format_amount(checkout.amount, checkout.currency, copy.locale), account_ref=checkout.account_ref,
                voucher=voucher, refresh=PENDING_REFRESH_S if waiting else None, back_url=back_url(checkout.link_token))


def shown_status(checkout: Checkout, now: dt.datetime) -> str:
    """An online checkout never paid at the gateway and past its time is shown expired (a late approval still
    counts: the notification moves it)."""
    if checkout.status == "created" and checkout.expires_at is not None and checkout.expires_at <= now:
        return "expired"
    return checkout.status


@router.get("/clients/{slug}/checkouts/{reference}", response_model=CheckoutOut,
            responses={404: {"description": "no checkout of this client company has this reference"}})
async def get_checkout(reference: Annotated[str, Path(pattern=f"^{REFERENCE.pattern}$")], client: ClientOfCaller,
                       platform: PlatformDep) -> CheckoutOut:
    """A debtor's checkout: its state (pending while a voucher or a delayed method waits), amount, gateway and
    method, and the cash voucher when there is one."""
    return CheckoutOut.of(await handlers.operator_view(platform.db, client=client.slug, reference=reference))
