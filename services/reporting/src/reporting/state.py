"""What reporting's module-level routes share within one app (main.build puts it on app.state), and the
dependencies that hand it and the client company to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from recaudo_common.client_copy import ClientCopy
from recaudo_common.dependencies import OPERATOR_ONLY, CurrentPrincipal, PlatformDep, client_of, from_app_state
from recaudo_common.ratelimit import Rate, RateLimiter
from reporting import store
from reporting.cache import ReportCache
from reporting.domain.kpis import Facts
from reporting.live import ChangeFeed, OpenStreams
from reporting.settings import ReportingSettings

APP_STATE = "reporting"


@dataclass(frozen=True)
class ReportingState:
    """The report rate per key and client company, the live figures (shared until the change feed says the client
    company's read models changed, or for a second) and client companies (shared for a second), the one LISTEN
    connection that wakes the live streams and drops the changed company's figures, and how many streams each
    caller holds open."""

    report_limiter: RateLimiter
    live_figures: ReportCache[tuple[Facts, dict[str, Facts]]]
    live_clients: ReportCache[ClientCopy]
    feed: ChangeFeed
    streams: OpenStreams

    @classmethod
    def of(cls, settings: ReportingSettings, database_url: str) -> ReportingState:
        live_figures: ReportCache[tuple[Facts, dict[str, Facts]]] = ReportCache(min_gap_s=settings.live_report_gap_s)
        feed = ChangeFeed(database_url)
        feed.watch(live_figures)
        return cls(report_limiter=RateLimiter("reports", Rate(settings.report_rate_per_s, settings.report_burst)),
                   live_figures=live_figures, live_clients=ReportCache(), feed=feed,
                   streams=OpenStreams(settings.live_streams_per_caller))


get_state = from_app_state(APP_STATE, ReportingState)


State = Annotated[ReportingState, Depends(get_state)]


async def report_limited(request: Request, principal: CurrentPrincipal, state: State) -> None:
    """The caller (its API key) asking about the path's client company takes a token or is refused 429."""
    state.report_limiter.refuse_caller(principal, request)


# The client company of the path's {slug}, which the caller may see (operator, or the client itself) or operate.
client_of_caller = client_of(store.SCHEMA)
ClientOfCaller = Annotated[ClientCopy, Depends(client_of_caller)]
ClientOfOperator = Annotated[ClientCopy, Depends(client_of(store.SCHEMA, roles=OPERATOR_ONLY))]


async def live_client(slug: str, principal: CurrentPrincipal, platform: PlatformDep, state: State) -> ClientCopy:
    """ClientOfCaller for the live report: the caller's right is checked on every request, the company found once
    a second and shared, as the report's figures are, so a wall of dashboards asking every second costs no query."""
    principal.require_client(slug)
    return await state.live_clients.get((slug,), lambda: client_of_caller(slug, principal, platform))


LiveClient = Annotated[ClientCopy, Depends(live_client)]
