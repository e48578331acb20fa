"""The console's account pages (#23): a client company's accounts found by reference, id number, name or phone
("Buscar cuenta"), and one account: its placement facts, its timeline (assembled by the page's own script from
each service's per-account /v1 routes) and the actions on it (legal hold, do-not-contact, a contact logged; for
operators a payment by hand and the debtor's data rights: a copy, erasure, corrected contact points), which its
scripts send to each service's API with the session's CSRF token. Thin: reads what the search's handlers read."""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ingest.account_search import handlers
from ingest.account_search.domain import MAX_QUERY_CHARS, FoundAccount
from ingest.clients import store as client_store
from ingest.records import ClientCompany
from recaudo_common import console
from recaudo_common.auth import Principal, Role
from recaudo_common.channel_words import CHANNEL_WORDS, channel_options
from recaudo_common.console import page, pages_of
from recaudo_common.console.visitor import Visitor, layout_of, to_own_client, to_sign_in, visitor
from recaudo_common.dependencies import PlatformDep
from recaudo_common.money import MARKS, format_amount, kept_places
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.runtime import Platform

PAGES = pages_of(Path(__file__).parents[1] / "console_templates")
SCRIPT = Path(__file__).parents[1] / "console_static" / "accounts.js"
# The account page's everyday tasks of an operator (a payment by hand, the debtor's data rights), its own script.
TASKS_SCRIPT = Path(__file__).parents[1] / "console_static" / "account_tasks.js"
SHOWN = 25
COMPANIES_SHOWN = 100
STATUS_LABELS = {"active": "Activa", "recalled": "Retirada por el cliente"}
# Who reads a client company's accounts: its own people and the agency's operators and supervisors (agents work
# the desk's account, SRE the platform).
READERS: tuple[Role, ...] = ("operator", "client")
NOT_ALLOWED = "Su rol no permite ver las cuentas. Pida acceso a un supervisor."

router = APIRouter(prefix="/console/accounts", tags=["console"], include_in_schema=False,
                   route_class=AuthorisedFirstRoute)


@dataclass(frozen=True)
class AccountRow:
    """An account as the pages show it: money and dates in the client company's locale and time zone."""

    account_ref: str
    debtor_name: str
    id_number: str
    status: str
    status_label: str
    balance: str
    days_past_due: int
    placed_at: str
    debtor_id: str | None  # as stated, what the do-not-contact list takes


@dataclass(frozen=True)
class Reader:
    person: Visitor
    client: ClientCompany


def row(found: FoundAccount, client: ClientCompany) -> AccountRow:
    zone = zoneinfo.ZoneInfo(client.timezone)
    id_number = f"{found.id_type} {found.id_number}" if found.id_type and found.id_number else found.id_number
    balance = format_amount(found.balance, client.currency, client.locale)
    return AccountRow(found.account_ref, found.debtor_name or "(datos suprimidos)", id_number or "—", found.status,
                      STATUS_LABELS.get(found.status, found.status), balance,
                      found.days_past_due, found.placed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                      found.id_number)


def _refused(principal: Principal | None, status: int, message: str) -> Response:
    return page("refused.html", pages=PAGES, status=status, heading="Cuentas", message=message,
                layout=layout_of(principal))


async def _person(request: Request, platform: Platform) -> Visitor | Response:
    """The signed-in person who may read accounts; else the way to sign in (303) or a refusal saying why (403)."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    if not person.principal.has_role(*READERS):
        return _refused(person.principal, 403, NOT_ALLOWED)
    return person


async def _reader(request: Request, platform: Platform, slug: str) -> Reader | Response:
    """The person who may read this client company's accounts, and the company; else as `_person`, or a page
    saying there is no such company (404: another company's person learns nothing of it), as the portfolio pages
    answer."""
    person = await _person(request, platform)
    if not isinstance(person, Visitor):
        return person
    async with platform.db.transaction() as s:
        client = await client_store.get_client(s, slug) if person.principal.can_see_client(slug) else None
    if client is None:
        return _refused(person.principal, 404, "No hay tal empresa cliente.")
    return Reader(person, client)


def _shown(template: str, reader: Reader, **context: Any) -> Response:
    principal = reader.person.principal
    return page(template, pages=PAGES, layout=reader.person.layout(), slug=reader.client.slug,
                client=reader.client.name, may_hold=principal.has_role("operator"),
                may_log=principal.has_role("operator", "agent"), **context)


@router.get("/accounts.js")
async def script() -> Response:
    """The account page's own script."""
    return console.script(SCRIPT)


@router.get("/account-tasks.js")
async def tasks_script() -> Response:
    """The script of the account page's payment by hand and data-rights actions (operators and supervisors)."""
    return console.script(TASKS_SCRIPT)


@router.get("/amounts.js")
async def amounts_script() -> Response:
    """The script that writes the account page's amounts as the server writes its own (loaded before the page's)."""
    return console.script(console.AMOUNTS_SCRIPT)


@router.get("")
async def companies_page(request: Request, platform: PlatformDep,
                         after: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """A client company's person straight to its accounts; the agency's staff to the client companies they may
    see, to choose one."""
    person = await _person(request, platform)
    if not isinstance(person, Visitor):
        return person
    own = to_own_client(person.principal, "/console/accounts")
    if own is not None:
        return own
    async with platform.db.transaction() as s:
        companies = await client_store.list_clients(s, person.principal.client_scope, after=after,
                                                    limit=COMPANIES_SHOWN + 1)
    return page("accounts_companies.html", pages=PAGES, companies=companies[:COMPANIES_SHOWN],
                more=companies[COMPANIES_SHOWN - 1].slug if len(companies) > COMPANIES_SHOWN else None,
                layout=person.layout())


@router.get("/{slug}")
async def search_page(slug: str, request: Request, platform: PlatformDep,
                      q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
                      after: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """"Buscar cuenta": the accounts the text finds, twenty-five at a time, each a link to its page."""
    found = await _reader(request, platform, slug)
    if not isinstance(found, Reader):
        return found
    rows: list[AccountRow] = []
    more = None
    if q.strip():
        kept = await handlers.search(platform.db, found.client, q, after=after, limit=SHOWN + 1)
        rows = [row(a, found.client) for a in kept[:SHOWN]]
        if len(kept) > SHOWN:
            more = kept[SHOWN - 1].account_ref
    return _shown("accounts.html", found, q=q, rows=rows, searched=bool(q.strip()), more=more)


@router.get("/{slug}/{account_ref}")
async def account_page(slug: str, account_ref: str, request: Request, platform: PlatformDep) -> Response:
    """One account: its placement facts, its timeline (the page's script) and the actions on it."""
    found = await _reader(request, platform, slug)
    if not isinstance(found, Reader):
        return found
    account = await handlers.account(platform.db, slug, account_ref)
    if account is None:
        return _refused(found.person.principal, 404, "No hay tal cuenta en esta empresa cliente.")
    group, decimal = MARKS.get(found.client.locale, (".", ","))
    return _shown("account.html", found, account=row(account, found.client), timezone=found.client.timezone,
                  locale=found.client.locale, currency=found.client.currency,
                  minor_units=kept_places(found.client.currency), group_mark=group,
                  decimal_mark=decimal, amounts=console.amounts_style(found.client.currency, found.client.locale),
                  channels=json.dumps(CHANNEL_WORDS), channel_options=channel_options())
