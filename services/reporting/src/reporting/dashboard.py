"""The live dashboard: the recovery totals as a server-sent-event stream, the dashboard page, its script and its
charting library (the page holds no data: it reads the same API as everyone else, with the session or a key)."""

import asyncio
import html
import importlib.resources
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from recaudo_common.channel_words import GROUP_WORDS
from recaudo_common.client_copy import ClientCopy
from recaudo_common.console import AMOUNTS_SCRIPT, every_amounts_style, page, script
from recaudo_common.console.visitor import visitor
from recaudo_common.dependencies import CurrentPrincipal, PlatformDep
from recaudo_common.errors import ProblemError
from recaudo_common.page_policy import digest, headers, inline_blocks, policy
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.runtime import Platform
from recaudo_common.sessions import session_token_of
from reporting import queries
from reporting.schemas import RecoveryFigures
from reporting.state import ClientOfCaller, State, report_limited

router = APIRouter(prefix="/v1", tags=["reporting"],
                   dependencies=[Depends(report_limited)],
                   responses={429: {"description": "too many requests for this key and client company"}},
                   route_class=AuthorisedFirstRoute)
pages = APIRouter(route_class=AuthorisedFirstRoute, include_in_schema=False)

DASHBOARD = Path(__file__).parent / "web" / "dashboard.html"
DASHBOARD_JS = Path(__file__).parent / "web" / "dashboard.js"
PLOTLY_JS = Path(str(importlib.resources.files("plotly"))) / "package_data" / "plotly.min.js"  # no CDN at run time
# The <style> blocks plotly.js adds with fixed text as it loads (maplibre's stylesheet, for map charts).
_PLOTLY_STYLE = re.compile(r'createElement\("style"\);\w+\.id="[^"]*",\w+\.textContent=\'([^\'\\]*)\'')


def _plotly_styles(bundle: str) -> list[str]:
    """What the page's policy must allow for Plotly without 'unsafe-inline' (found with Chromium, plotly.js 4):
    it writes its rules into an empty <style> of its own through the CSSOM, which a policy cannot see, so the empty
    text's hash lets that element be (an empty block styles nothing, and filling it takes a script, which only our
    files are); and it adds maplibre's stylesheet as a <style> whose text is fixed in the bundle, allowed by that
    text's hash, read from the very file served. Its style attributes are set through the CSSOM too, which CSP
    leaves alone. tests/e2e/test_dashboard.py fails on any style Chromium refuses, so an upgrade that adds one is
    seen."""
    return [digest(""), *(digest(text) for text in _PLOTLY_STYLE.findall(bundle))]


# Its own <style> and Plotly's by hash, and data: images, which Plotly draws with: styles never 'unsafe-inline'.
DASHBOARD_HEADERS = headers(policy(
    styles=[*inline_blocks(DASHBOARD)[0], *_plotly_styles(PLOTLY_JS.read_text(encoding="utf-8"))],
    more=["img-src 'self' data:"]))
KEEP_ALIVE_S = 15.0  # a comment this often keeps proxies from closing a quiet stream
DEBOUNCE_S = 1.0  # a burst of payments is one update


async def _totals(platform: Platform, client: ClientCopy) -> str:
    totals, _ = await queries.recovery_facts(platform.db, client=client, group_by=None, date_from=None,
                                             date_to=platform.clock())
    return f"event: recovery\ndata: {RecoveryFigures.of(totals).model_dump_json()}\n\n"


@router.get("/clients/{slug}/reports/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}},
                       429: {"description": "too many requests, or this caller already holds its streams of this "
                                            "client company open (too_many_streams)"}})
async def stream(slug: str, client: ClientOfCaller, principal: CurrentPrincipal, platform: PlatformDep, state: State,
                 request: Request) -> StreamingResponse:
    """Server-sent events: `recovery` with the report's totals now, then again whenever they may have
    changed (at most once a second), and a comment every 15 s to keep proxies from closing the stream. It ends once
    the caller may no longer read the report (a key revoked, a session ended, a right taken away); a caller holds at
    most a few streams of one client company open at once (429 too_many_streams)."""
    caller = str(principal.key_id)
    if state.streams.full(caller, slug):
        raise ProblemError(429, "too_many_streams", "Too many requests",
                           f"at most {state.streams.per_caller} live streams of a client company open at once for "
                           "one caller; close one first", headers={"Retry-After": str(max(1, int(KEEP_ALIVE_S)))})
    key = request.headers.get("authorization", "")
    session = None if key else session_token_of(request.headers.get("cookie", ""))

    async def still_allowed() -> bool:
        """The caller's credentials as they stand now (a key's look-up is cached a few seconds); a session's is
        read without marking it used, so an unattended stream does not keep it from idling out."""
        try:
            now = await platform.auth.sessions.principal(session, now=platform.clock(), touch=False) if session \
                else await platform.auth.authenticate(key)
        except ProblemError:
            return False
        return now is not None and now.has_role("operator", "client") and now.can_see_client(slug)

    async def events() -> AsyncIterator[str]:
        with state.streams.holding(caller, slug) as within:
            if not within:
                return
            async with state.feed.subscribe(slug) as changed:
                yield await _totals(platform, client)
                while not await request.is_disconnected():
                    try:
                        await asyncio.wait_for(changed.wait(), KEEP_ALIVE_S)
                    except TimeoutError:
                        if not await still_allowed():
                            return
                        yield ": keep-alive\n\n"
                        continue
                    changed.clear()
                    if not await still_allowed():
                        return
                    yield await _totals(platform, client)
                    await asyncio.sleep(DEBOUNCE_S)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


# The report's readers (recaudo_common.auth: a supervisor counts as an operator); agents and SRE do not read it.
NOT_A_READER = ("Su rol no permite ver el tablero de recuperación: es de los operadores, los supervisores y las "
                "personas de la empresa cliente.")


@pages.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, platform: PlatformDep) -> Response:
    """The dashboard page; a person signed in whose role does not read reports is told so in Spanish (403) instead
    of an empty page. Without a session the page asks for a key, kept in the page only."""
    person = await visitor(request, platform)
    if person is not None and not person.principal.has_role("operator", "client"):
        return page("refused.html", heading="Tablero", status=403, message=NOT_A_READER, layout=person.layout())
    # The page learns its client company in the browser, so it carries every style amounts.js may need.
    # The charts name groups with the exports' words (one word per thing), given here rather than written again.
    shown = DASHBOARD.read_text(encoding="utf-8").replace("data-amounts=''", f"data-amounts='{every_amounts_style()}'")
    shown = shown.replace("data-groups=''", f"data-groups='{html.escape(json.dumps(GROUP_WORDS), quote=True)}'")
    return HTMLResponse(shown, headers=DASHBOARD_HEADERS)


@pages.get("/dashboard/static/plotly.min.js")
async def plotly() -> FileResponse:
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"cache-control": "public, max-age=86400"})


@pages.get("/dashboard/static/dashboard.js")
async def dashboard_js() -> FileResponse:
    return FileResponse(DASHBOARD_JS, media_type="text/javascript", headers={"cache-control": "no-cache"})


@pages.get("/dashboard/static/amounts.js")
async def amounts_js() -> Response:
    """The script that writes the dashboard's amounts as the server writes them everywhere else (loaded before the
    dashboard's own)."""
    return script(AMOUNTS_SCRIPT)
