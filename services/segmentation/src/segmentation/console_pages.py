"""The console's strategy pages (#22, #23): the strategy in force as an editable bucket x tier grid (and its
challenger), then its versions, newest first, each with what changed from the one before it (tiers, cells,
challenger), and the restore an operator may make of any of them. Thin: the grid is the page's own script
(console_static/strategy.js) on the API's GET/PUT .../strategy and .../strategy/promote; the versions come from
strategy_versions, the differences from domain/strategy_diff."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from recaudo_common.auth import Role
from recaudo_common.client_copy import ClientCopy, client_names, get_client
from recaudo_common.console import page, pages_of
from recaudo_common.console.visitor import Visitor, to_own_client, to_sign_in, visitor
from recaudo_common.dependencies import PlatformDep
from recaudo_common.domain_errors import DomainError
from recaudo_common.gate import BodyRule, public_form
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.runtime import Platform
from recaudo_common.sessions import CSRF_FIELD
from segmentation import strategy_versions
from segmentation.domain.strategy_diff import Change, strategy_changes
from segmentation.store import SCHEMA
from segmentation.strategy_versions_store import KeptVersion

PAGES = pages_of(Path(__file__).parent / "console_templates")
SCRIPT = Path(__file__).parent / "console_static" / "strategy.js"
SHOWN = 10
COMPANIES_SHOWN = 100
# Who reads a strategy, as the API's GET .../strategy lets them: agents work the desk and SRE the platform.
READERS: tuple[Role, ...] = ("operator", "client")
REFUSED_ROLE = "Su rol no permite ver la estrategia de una empresa cliente. Pida acceso a un supervisor."
# Under /console/strategy, a prefix of its own, so the gateway sends these pages here and not to ingest's /console.
# The restore is a form the session signs (its CSRF token in the form); the gate lets the page read it.
BODY_RULES: list[BodyRule] = [public_form(r"/console/strategy/[^/]+/versions/\d+/restore")]
ORIGINS = {"put": "editada", "buckets": "con tramos nuevos", "promote": "retador promovido", "restore": "restaurada"}

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/console", tags=["console"], include_in_schema=False)


@dataclass(frozen=True)
class VersionView:
    number: int
    current: bool
    created_at: str
    created_by: str
    origin: str
    changes: list[Change]


def _view(kept: KeptVersion, previous: KeptVersion | None, *, current: int, zone: zoneinfo.ZoneInfo) -> VersionView:
    origin = ORIGINS.get(kept.origin or "", "guardada")
    if kept.origin_version is not None:
        origin += f" (de la versión {kept.origin_version})"
    who = (kept.created_by or "desconocido").removeprefix("user ").replace("key ", "clave ")
    return VersionView(kept.version, kept.version == current,
                       kept.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), who, origin,
                       strategy_changes(previous.document if previous else None, kept.document))


def _refused(person: Visitor, status: int, message: str) -> Response:
    return page("refused.html", pages=PAGES, heading="Estrategia", status=status, message=message,
                layout=person.layout())


async def _reader(request: Request, platform: Platform, slug: str) -> tuple[Visitor, ClientCopy] | Response:
    """The signed-in person who may read this client company's strategy (as the API lets them), and the company;
    else the sign-in page, a refusal that says why (403) or a 404 page (another company's person learns nothing)."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    if not person.principal.has_role(*READERS):
        return _refused(person, 403, REFUSED_ROLE)
    async with platform.db.transaction() as s:
        client = await get_client(s, SCHEMA, slug) if person.principal.can_see_client(slug) else None
    if client is None:
        return _refused(person, 404, "No hay tal empresa cliente.")
    return person, client


@router.get("/strategy", response_class=HTMLResponse)
async def companies_page(request: Request, platform: PlatformDep,
                         after: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """Where the console's first page leads: a client company's person straight to its own strategy; an operator
    or supervisor chooses among the client companies they may see, by slug, a hundred at a time."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    principal = person.principal
    if (own := to_own_client(principal, "/console/strategy")) is not None:
        return own
    if not principal.has_role("operator"):
        return _refused(person, 403, REFUSED_ROLE)
    async with platform.db.transaction() as s:
        companies = await client_names(s, SCHEMA, principal.client_scope, after=after, limit=COMPANIES_SHOWN + 1)
    more = companies[COMPANIES_SHOWN - 1].slug if len(companies) > COMPANIES_SHOWN else None
    return page("strategy_companies.html", pages=PAGES, companies=companies[:COMPANIES_SHOWN],
                more=f"/console/strategy?{urlencode({'after': more})}" if more else None, layout=person.layout())


@router.get("/strategy/strategy.js")
async def script() -> Response:
    """The page's own script (the console's CSP runs no inline script). Declared before the page's route, whose
    {slug} would otherwise take its name."""
    return Response(SCRIPT.read_bytes(), media_type="application/javascript",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


def _notice(restored: int | None, kept_as: int | None, saved: int | None, promoted: int | None) -> str | None:
    """What the last action did, from numbers in the link only."""
    if restored is not None and kept_as is not None:
        return f"Versión {restored} restaurada como versión {kept_as}; las cuentas se vuelven a segmentar."
    if saved is not None:
        return f"Estrategia guardada como versión {saved}; las cuentas se vuelven a segmentar."
    if promoted is not None:
        return f"Retador promovido a campeón en la versión {promoted}; las cuentas se vuelven a segmentar."
    return None


@router.get("/strategy/{slug}", response_class=HTMLResponse)
async def versions_page(slug: str, request: Request, platform: PlatformDep,
                        before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                        restored: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                        kept_as: Annotated[int | None, Query(alias="as", ge=1, le=2**31 - 1)] = None,
                        saved: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                        promoted: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                        refused: bool = False) -> Response:
    """The strategy in force as a grid (editable by an operator or supervisor, read-only for the others: the API
    lets only them write it), then its versions with their differences (newest first, ten at a time). What a
    restore, a save or a promote did comes back as numbers only (`restored`, `as`, `saved`, `promoted`,
    `refused`): no text from a link is ever shown."""
    notice = _notice(restored, kept_as, saved, promoted)
    error = "No se pudo restaurar: la sesión o el permiso no son válidos." if refused else None
    found = await _reader(request, platform, slug)
    if isinstance(found, Response):
        return found
    person, client = found
    kept, current = await strategy_versions.list_versions(platform.db, client=slug, before=before,
                                                          limit=SHOWN + 1)
    zone = zoneinfo.ZoneInfo(client.timezone)
    views = [_view(k, kept[i + 1] if i + 1 < len(kept) else None, current=current, zone=zone)
             for i, k in enumerate(kept[:SHOWN])]
    return page("strategy_versions.html", pages=PAGES, slug=slug, client=client.name, versions=views,
                older=f"/console/strategy/{slug}?before={kept[SHOWN - 1].version}" if len(kept) > SHOWN
                else None, can_restore=person.principal.has_role("operator"), notice=notice, error=error,
                editor=True, layout=person.layout())


@router.post("/strategy/{slug}/versions/{version}/restore")
async def restore(slug: str, version: int, request: Request, platform: PlatformDep,
                  csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "") -> Response:
    """Restores a kept version as the API's restore does (a new version, whole; re-segmentation follows), for an
    operator signed in whose form carries the session's CSRF token; back to the versions with what happened."""
    found = await _reader(request, platform, slug)
    if isinstance(found, Response):
        return found
    person, client = found
    back = f"/console/strategy/{slug}"
    if not person.sent(csrf) or not person.principal.has_role("operator"):
        return RedirectResponse(f"{back}?refused=true", status_code=303)
    try:
        kept = await strategy_versions.restore_version(platform.db, client=client, number=version,
                                                       by=person.principal.actor, now=platform.clock())
    except DomainError as refused:
        return page("strategy_versions.html", pages=PAGES, status=409 if refused.code != "not_found" else 404,
                    slug=slug, client=client.name, versions=[], older=None, can_restore=False, notice=None,
                    error=f"No se restauró: {refused.detail}", layout=person.layout())
    return RedirectResponse(f"{back}?restored={version}&as={kept.version}", status_code=303)
