"""The console's portfolio pages (#23): a client company's uploads newest first, the upload itself (file picker or
drag and drop, sent by the page's own script to the API with the session's CSRF token), its progress, and its
result (counts, rejections and warnings with their CSV downloads). Thin: reads what the uploads' handlers read;
the upload is the API's own route."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from ingest.clients import handlers as client_handlers
from ingest.clients import store as client_store
from ingest.domain.failure_labels import failure_detail
from ingest.domain.issue_labels import ISSUE_LABELS, spanish_detail
from ingest.domain.portfolio import RECOGNISED
from ingest.records import ClientCompany, Portfolio, RowIssue
from ingest.uploads import handlers
from recaudo_common import console
from recaudo_common.auth import Principal, Role
from recaudo_common.console import page, pages_of
from recaudo_common.console.visitor import Visitor, layout_of, to_sign_in, visitor
from recaudo_common.dependencies import PlatformDep
from recaudo_common.domain_errors import NotFound
from recaudo_common.money import MARKS
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.runtime import Platform

PAGES = pages_of(Path(__file__).parent / "console_templates")
SCRIPT = Path(__file__).parent / "console_static" / "portfolios.js"
SHOWN = 20
ISSUES_SHOWN = 100
COMPANIES_SHOWN = 100
PROFILES_SHOWN = 100  # by name; more are reached by typing the name (GET .../mappings pages them all)
STATUS_LABELS = {"queued": "En cola", "processing": "Procesando", "completed": "Completada", "failed": "Fallida"}
# A large upload waiting between batches (bulk_pace), by the family of events whose readers it waits for; {hora}
# is when it began, in the company's time. The page's script fills the same texts as it follows the upload.
PAUSE_TEXTS = {
    "account": "En pausa desde las {hora}: los servicios aún leen las cuentas ya cargadas, y esta carga espera para "
               "no demorar el trabajo de las demás empresas. Sigue sola cuando se pongan al día.",
    "contact": "En pausa desde las {hora}: los servicios aún registran los contactos de las cuentas ya cargadas, y "
               "esta carga espera para no demorar el trabajo de las demás empresas. Sigue sola cuando se pongan al "
               "día.",
}
# Agents work the desk and SRE the platform: neither reads a client company's files.
READERS: tuple[Role, ...] = ("operator", "client")

router = APIRouter(prefix="/console/portfolios", tags=["console"], include_in_schema=False,
                   route_class=AuthorisedFirstRoute)


@dataclass(frozen=True)
class UploadView:
    id: uuid.UUID
    filename: str
    status: str
    status_label: str
    progress_pct: int
    created_at: str
    total: str
    accepted: str
    rejected: str
    warnings: str
    paused: str  # why it waits between batches, when it does ("" otherwise)


@dataclass(frozen=True)
class Reader:
    person: Visitor
    client: ClientCompany



def count(n: int, locale: str) -> str:
    """A count with the client company's thousands mark (es-CO: 12.480)."""
    group = MARKS.get(locale, (".", ","))[0]
    return f"{n:,}".replace(",", group)


def view(p: Portfolio, client: ClientCompany) -> UploadView:
    zone = zoneinfo.ZoneInfo(client.timezone)
    paused = ""
    if p.paused_for is not None and p.paused_since is not None:
        text = PAUSE_TEXTS.get(p.paused_for, PAUSE_TEXTS["account"])
        paused = text.replace("{hora}", p.paused_since.astimezone(zone).strftime("%H:%M"))
    return UploadView(p.id, p.filename or "(sin nombre)", p.status, STATUS_LABELS.get(p.status, p.status),
                      round(p.progress * 100), p.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                      count(p.rows_total, client.locale), count(p.rows_accepted, client.locale),
                      count(p.rows_rejected, client.locale), count(p.rows_with_warnings, client.locale), paused)


def _shown(template: str, reader: Reader, **context: Any) -> Response:
    """A page of the company's uploads, with the header's person and the session's CSRF token for the script."""
    return page(template, pages=PAGES, layout=reader.person.layout(), slug=reader.client.slug,
                client=reader.client.name, **context)


def _refused(principal: Principal | None, status: int, message: str) -> Response:
    return page("portfolio_refused.html", pages=PAGES, status=status, message=message, layout=layout_of(principal))


async def _reader(request: Request, platform: Platform, slug: str) -> Reader | Response:
    """The signed-in person who may read this client company's uploads, and the company; else the way to sign in
    (303), a refusal that says why (403) or a page saying there is no such company (404: another company's person
    learns nothing of it)."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    principal = person.principal
    if not principal.has_role(*READERS):
        return _refused(principal, 403, "Su rol no permite ver ni cargar carteras. Pida acceso a un supervisor.")
    async with platform.db.transaction() as s:
        client = await client_store.get_client(s, slug) if principal.can_see_client(slug) else None
    if client is None:
        return _refused(principal, 404, "No hay tal empresa cliente.")
    return Reader(person, client)


@router.get("/portfolios.js")
async def script() -> Response:
    """The pages' own script (the console's CSP runs no inline script)."""
    return console.script(SCRIPT)


@router.get("")
async def companies_page(request: Request, platform: PlatformDep,
                         after: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """Where the console's first page leads: a client company's person straight to its uploads; the agency's staff
    to the client companies they may see (by slug, a hundred at a time), to choose one."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    principal = person.principal
    if not principal.has_role(*READERS):
        return _refused(principal, 403, "Su rol no permite ver ni cargar carteras. Pida acceso a un supervisor.")
    if principal.role == "client" and principal.client_slug:
        return RedirectResponse(f"/console/portfolios/{principal.client_slug}", status_code=303)
    async with platform.db.transaction() as s:
        companies = await client_store.list_clients(s, principal.client_scope, after=after, limit=COMPANIES_SHOWN + 1)
    return page("portfolio_companies.html", pages=PAGES, companies=companies[:COMPANIES_SHOWN],
                more=companies[COMPANIES_SHOWN - 1].slug if len(companies) > COMPANIES_SHOWN else None,
                layout=person.layout())


@router.get("/{slug}")
async def uploads_page(slug: str, request: Request, platform: PlatformDep,
                       before: Annotated[dt.datetime | None, Query()] = None,
                       before_id: Annotated[uuid.UUID | None, Query()] = None) -> Response:
    """The client company's uploads, newest first, twenty at a time, and the way to upload another."""
    found = await _reader(request, platform, slug)
    if not isinstance(found, Reader):
        return found
    cursor = (before, before_id) if before is not None and before_id is not None and before.tzinfo else None
    kept = await handlers.client_portfolios(platform.db, slug, before=cursor, limit=SHOWN + 1)
    older = None
    if len(kept) > SHOWN:
        last = kept[SHOWN - 1]
        older = f"/console/portfolios/{slug}?before={last.created_at.isoformat()}&before_id={last.id}"
    profiles = await client_handlers.mapping_profiles(platform.db, found.client, after=None,
                                                      limit=PROFILES_SHOWN + 1)
    return _shown("portfolios.html", found, fields=list(RECOGNISED),
                  profiles=[p.name for p in profiles[:PROFILES_SHOWN]], more_profiles=len(profiles) > PROFILES_SHOWN,
                  uploads=[view(p, found.client) for p in kept[:SHOWN]],
                  older=older.replace("+", "%2B") if older else None)


async def _issues(platform: Platform, portfolio_id: uuid.UUID, kind: str, after: int
                  ) -> tuple[list[RowIssue], int | None]:
    rows = await handlers.issues_page(platform.db, portfolio_id, kind, after=after, limit=ISSUES_SHOWN + 1)
    return rows[:ISSUES_SHOWN], rows[ISSUES_SHOWN - 1].id if len(rows) > ISSUES_SHOWN else None


@router.get("/{slug}/{portfolio_id}")
async def upload_page(slug: str, portfolio_id: uuid.UUID, request: Request, platform: PlatformDep,
                      rejections_after: Annotated[int, Query(ge=0, le=2**62)] = 0,
                      warnings_after: Annotated[int, Query(ge=0, le=2**62)] = 0) -> Response:
    """One upload: its progress while it runs, then its counts, its rejections and warnings (a hundred at a time)
    and their downloads."""
    found = await _reader(request, platform, slug)
    if not isinstance(found, Reader):
        return found
    try:
        portfolio = await handlers.portfolio(platform.db, portfolio_id)
    except NotFound:
        portfolio = None
    if portfolio is None or portfolio.client_slug != slug:
        return _refused(found.person.principal, 404, "No hay tal carga de cartera.")
    rejections, more_rejections = await _issues(platform, portfolio.id, "rejection", rejections_after)
    warnings, more_warnings = await _issues(platform, portfolio.id, "warning", warnings_after)
    here = f"/console/portfolios/{slug}/{portfolio.id}"
    failed, kept = portfolio.error_code, portfolio.error_detail or {}
    return _shown("portfolio.html", found, upload=view(portfolio, found.client),
                  running=portfolio.status in ("queued", "processing"), error_code=failed,
                  failure=failure_detail(failed, missing=kept.get("missing"), ambiguous=kept.get("ambiguous"),
                                         attempts=kept.get("attempts")) if failed else None,
                  pause_texts=PAUSE_TEXTS, timezone=found.client.timezone,
                  rejections=rejections, warnings=warnings, labels=ISSUE_LABELS, detail=spanish_detail,
                  more_rejections=f"{here}?rejections_after={more_rejections}" if more_rejections else None,
                  more_warnings=f"{here}?warnings_after={more_warnings}" if more_warnings else None)
