"""Reporting's HTTP API: the recovery report with every KPI, roll rates, commission, exports, the account view."""


import asyncio
import datetime as dt
import importlib.resources
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.accounts import account_status
from recaudo_common.auth import Principal
from recaudo_common.client_copy import get_client
from recaudo_common.clock import local_instant
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.exports import XLSX, table_response
from recaudo_common.ratelimit import Rate as RequestRate
from recaudo_common.ratelimit import RateLimiter, rate_limited
from recaudo_common.runtime import Platform
from reporting import store
from reporting.domain.headers import MONEY, headers_for
from reporting.domain.kpis import bucket_order, commission, rates, recovery_rate, roll_rates
from reporting.live import ChangeFeed

Rate = float | None


class RecoveryFigures(BaseModel):
    """v1: amounts are decimal strings; rates are fractions, null where their denominator is zero."""

    accounts_placed: int
    placed_balance: Decimal
    accounts_recalled: int
    recovered: Decimal
    payments: int
    recovery_rate: float
    attempts: int
    contact_cost: Decimal
    accounts_contacted: int
    accounts_right_party: int
    right_party_contacts: int
    promises_made: int
    promises_due: int
    promises_kept: int
    accounts_liquidated: int
    contact_rate: Rate
    right_party_contact_rate: Rate
    ptp_rate: Rate
    kept_promise_rate: Rate
    cost_ratio: Rate
    liquidation_rate: Rate


class RecoveryGroup(RecoveryFigures):
    key: str


class RecoveryReport(BaseModel):
    """v1"""

    client: str
    currency: str
    as_of: dt.datetime
    group_by: str | None
    date_from: dt.datetime | None = None
    date_to: dt.datetime
    totals: RecoveryFigures
    groups: list[RecoveryGroup]


class RollRateOut(BaseModel):
    period: str
    bucket: str
    accounts: int
    rolled_forward: int
    stayed: int
    rolled_back: int
    cured: int
    recalled: int
    roll_rate: Rate
    cure_rate: Rate


class RollRatesReport(BaseModel):
    """v1: month over month, where the accounts of each bucket at one month's end are at the next month's end."""

    client: str
    months: list[str]
    items: list[RollRateOut]


class CommissionRatesIn(BaseModel):
    """v1: the agency's commission per bucket at placement, as fractions (0.15 = 15 %)."""

    model_config = ConfigDict(extra="forbid")
    rates: dict[str, Decimal] = Field(description="bucket at placement -> rate")
    default: Decimal | None = Field(None, ge=0, le=1, description="the rate of any bucket not listed")


class CommissionRatesOut(BaseModel):
    client: str
    rates: dict[str, Decimal]
    default: Decimal | None


class CommissionLine(BaseModel):
    bucket: str
    recovered: Decimal
    rate: Decimal
    commission: Decimal
    remittance: Decimal


class CommissionReport(BaseModel):
    """v1: recovered, the agency's commission and the remittance due to the client company, per bucket."""

    client: str
    currency: str
    date_from: dt.datetime | None
    date_to: dt.datetime
    items: list[CommissionLine]
    totals: CommissionLine


class ArrangementOut(BaseModel):
    arrangement_id: uuid.UUID
    kind: str | None
    total_amount: Decimal | None
    instalments: int | None
    source: str | None
    made_at: dt.datetime | None
    result: str | None
    decided_at: dt.datetime | None


class ContactSeen(BaseModel):
    channel: str
    at: dt.datetime
    attempted: bool
    delivered: bool
    outcome: str | None


class AccountView(BaseModel):
    """v1: one account as operators and its client company see it, with why it is treated as it is."""

    client: str
    account_ref: str
    status: str
    recalled_at: dt.datetime | None
    product: str | None
    placed_at: dt.datetime
    placed_balance: Decimal
    balance: Decimal
    recovered: Decimal
    days_past_due: int | None
    bucket: str | None
    bucket_at_placement: str | None
    segment: str | None
    treatment: str | None
    channels: list[str] | None
    offer: str | None
    propensity: Decimal | None
    cost_to_collect: Decimal | None
    expected_net_recovery: Decimal | None
    value_tier: str | None
    strategy_version: int | None
    strategy_arm: str | None
    model_version: str | None
    why: str | None
    arrangements: list[ArrangementOut] = []
    last_contacts: list[ContactSeen] = []


COUNTS = ("accounts_placed", "accounts_recalled", "payments", "attempts", "accounts_contacted",
          "accounts_right_party", "right_party_contacts", "promises_made", "promises_due", "promises_kept",
          "accounts_liquidated")
AMOUNTS = ("placed_balance", "recovered", "contact_cost")


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    f: dict[str, Any] = {k: int(row.get(k) or 0) for k in COUNTS}
    f.update({k: Decimal(str(row.get(k) or 0)) for k in AMOUNTS})
    f["recovery_rate"] = float(recovery_rate(f["recovered"], f["placed_balance"]))
    f.update({k: (float(v) if v is not None else None) for k, v in rates(f).items()})
    return f


def _period(date_from: dt.datetime | None, to: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    for value in (date_from, to):
        if value is not None and value.tzinfo is None:
            raise ProblemError(422, "naive_datetime", "Invalid period", "`from` and `to` need a UTC offset")
    date_to = to or now
    if date_from is not None and date_from >= date_to:
        raise ProblemError(422, "empty_period", "Invalid period", "`from` must be before `to`")
    return date_to


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError as e:
        raise ProblemError(422, "invalid_month", "Invalid month", f"{text!r} is not YYYY-MM") from e


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


class ReportCache:
    """Live reports are computed once per question at a time and then shared for a second (single flight): a
    busy dashboard wall costs one query at a time. While a question keeps being asked, its next computation starts
    ahead of the answer's second, as long before it as the last one took, and the current answer is served until
    the next is ready (at most `max_stale_s` after its own computation ended), so the askers never wait for it: at
    1,000,000 accounts a computation takes a good part of a second, more under load, and a wall of dashboards
    would otherwise wait for it every second. An answer is thus at most about a second plus one computation old,
    as it would be if everyone waited. A question nobody asked for longer than its second is computed afresh while
    its asker waits."""

    def __init__(self, ttl_s: float = 1.0, max_entries: int = 2000, max_stale_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.max_entries, self.max_stale_s, self.clock = ttl_s, max_entries, max_stale_s, clock
        # key -> (expiry, answer, how long it took); the expiry is +inf while the first computation is in flight
        self.entries: dict[tuple[Any, ...], tuple[float, asyncio.Future[Any], float]] = {}
        self.refreshing: dict[tuple[Any, ...], asyncio.Future[Any]] = {}

    async def get(self, key: tuple[Any, ...], compute: Callable[[], Awaitable[Any]]) -> Any:
        now = self.clock()
        hit = self.entries.get(key)
        if hit is not None and now < hit[0]:
            expiry, answer, took = hit
            if now >= expiry - took and key not in self.refreshing:
                self._start(key, compute, refresh=True)
            return await asyncio.shield(answer)
        if key in self.refreshing:  # past its second, and the next computation is under way
            if hit is not None and now < hit[0] - self.ttl_s + self.max_stale_s:
                return await asyncio.shield(hit[1])
            return await asyncio.shield(self.refreshing[key])
        if len(self.entries) >= self.max_entries:
            self.entries = {k: v for k, v in self.entries.items() if now < v[0]}
        return await asyncio.shield(self._start(key, compute, refresh=False))

    def _start(self, key: tuple[Any, ...], compute: Callable[[], Awaitable[Any]], *, refresh: bool
               ) -> asyncio.Future[Any]:
        started = self.clock()
        future: asyncio.Future[Any] = asyncio.ensure_future(compute())
        if refresh:
            self.refreshing[key] = future  # the current answer stays served until this one is ready
        else:
            self.entries[key] = (float("inf"), future, 0.0)

        def done(f: asyncio.Future[Any]) -> None:
            if self.refreshing.get(key) is f:
                del self.refreshing[key]
            elif self.entries.get(key, (0.0, None, 0.0))[1] is not f:
                return  # superseded
            if f.cancelled() or f.exception() is not None:
                if not refresh:
                    self.entries.pop(key, None)
                return  # a failed refresh leaves the current answer to its expiry
            ended = self.clock()
            self.entries[key] = (ended + self.ttl_s, f, ended - started)

        future.add_done_callback(done)
        return future


def build_router(platform: Platform, feed: ChangeFeed | None = None, *,
                 report_rate: RequestRate = RequestRate(20.0, 60)) -> APIRouter:
    limited = rate_limited(RateLimiter("reports", report_rate), platform.auth)
    router = APIRouter(prefix="/v1", tags=["reporting"], dependencies=[Depends(limited)],
                       responses={429: {"description": "too many requests for this key and client company"}})
    Auth = Annotated[Principal, Depends(platform.auth)]
    feed = feed or ChangeFeed(platform.settings.database_url)
    cache = ReportCache()

    async def client_or_404(s: Any, slug: str) -> Any:
        client = await get_client(s, store.SCHEMA, slug)
        if client is None:
            raise not_found(f"client company {slug!r}")
        return client

    @router.get("/clients/{slug}/reports/recovery", response_model=RecoveryReport,
                responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
    async def recovery(
        slug: str, principal: Auth,
        group_by: Literal["bucket", "current_bucket", "segment", "channel", "strategy_arm", "product", "day"]
        | None = None,
        date_from: Annotated[dt.datetime | None, Query(alias="from")] = None, to: dt.datetime | None = None,
        format: Literal["json", "csv", "xlsx"] = "json",
    ) -> Any:
        """Placed, recovered and every KPI of MISSION §8, in total and per group (docs/kpis.md)."""
        principal.require_client(slug)
        now = platform.clock()
        date_to = _period(date_from, to, now)

        async def compute() -> tuple[Any, dict[str, Any], dict[str, Any]]:
            async with platform.db.transaction() as s:
                client = await client_or_404(s, slug)
                totals = await store.report(s, client=slug, group_by=None, date_from=date_from, date_to=date_to,
                                            timezone=client.timezone)
                grouped = (await store.report(s, client=slug, group_by=group_by, date_from=date_from,
                                              date_to=date_to, timezone=client.timezone)) if group_by else {}
            return client, totals, grouped

        if to is None:  # the live report: shared by everyone asking within the same second
            client, totals, grouped = await cache.get((slug, group_by, date_from), compute)
        else:
            client, totals, grouped = await compute()
        groups = sorted((RecoveryGroup(key=k, **_figures(v)) for k, v in grouped.items()),
                        key=lambda g: bucket_order(g.key))
        result = RecoveryReport(client=slug, currency=client.currency, as_of=now, group_by=group_by,
                                date_from=date_from, date_to=date_to,
                                totals=RecoveryFigures(**_figures(totals.get("all", {}))), groups=groups)
        if format == "json":
            return result
        rows = [g.model_dump() for g in groups] + [{"key": "total", **result.totals.model_dump()}]
        columns = ["key", *RecoveryFigures.model_fields]
        return table_response(f"recovery-{slug}", format, columns, headers_for(columns, client.locale), rows,
                              money_columns=MONEY, currency=client.currency)

    @router.get("/clients/{slug}/reports/stream", response_class=StreamingResponse,
                responses={200: {"content": {"text/event-stream": {}}}})
    async def stream(slug: str, principal: Auth, request: Request) -> StreamingResponse:
        """Server-sent events: `recovery` with the report's totals now, then again whenever they may have
        changed (at most once a second), and a comment every 15 s to keep proxies from closing the stream."""
        principal.require_client(slug)
        async with platform.db.transaction() as s:
            client = await client_or_404(s, slug)

        async def totals() -> str:
            async with platform.db.transaction() as s:
                figures = await store.report(s, client=slug, group_by=None, date_from=None, date_to=platform.clock(),
                                             timezone=client.timezone)
            body = RecoveryFigures(**_figures(figures.get("all", {})))
            return f"event: recovery\ndata: {body.model_dump_json()}\n\n"

        async def events() -> AsyncIterator[str]:
            assert feed is not None
            async with feed.subscribe(slug) as changed:
                yield await totals()
                while not await request.is_disconnected():
                    try:
                        await asyncio.wait_for(changed.wait(), 15)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    changed.clear()
                    yield await totals()
                    await asyncio.sleep(1)  # debounce: a burst of payments is one update

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    @router.get("/clients/{slug}/reports/roll-rates", response_model=RollRatesReport)
    async def roll(slug: str, principal: Auth, date_from: Annotated[str, Query(alias="from")],
                   to: str) -> RollRatesReport:
        """Roll and cure rates month over month between `from` and `to` (months, YYYY-MM, inclusive)."""
        principal.require_client(slug)
        first, last = _month(date_from), _month(to)
        if not first < last or (last.year - first.year) * 12 + last.month - first.month > 36:
            raise ProblemError(422, "invalid_months", "Invalid months", "give 2 to 37 months, `from` before `to`")
        months = [first]
        while months[-1] < last:
            months.append(_next_month(months[-1]))
        async with platform.db.transaction() as s:
            client = await client_or_404(s, slug)
            ends = [local_instant(_next_month(m), client.timezone) for m in months]
            states = await store.month_end_states(s, client=slug, ends=ends)
        labels = [m.strftime("%Y-%m") for m in months]
        rolls = roll_rates(labels, ((r["period"], r["account_ref"], r["state"]) for r in states))
        return RollRatesReport(client=slug, months=labels, items=[RollRateOut(
            period=r.period, bucket=r.bucket, accounts=r.accounts, rolled_forward=r.rolled_forward, stayed=r.stayed,
            rolled_back=r.rolled_back, cured=r.cured, recalled=r.recalled,
            roll_rate=float(r.roll_rate) if r.roll_rate is not None else None,
            cure_rate=float(r.cure_rate) if r.cure_rate is not None else None) for r in rolls])

    @router.get("/clients/{slug}/commission-rates", response_model=CommissionRatesOut)
    async def get_rates(slug: str, principal: Auth) -> CommissionRatesOut:
        principal.require_client(slug)
        async with platform.db.transaction() as s:
            await client_or_404(s, slug)
            stored = await store.commission_rates(s, slug)
        default = stored.pop("*", None)
        return CommissionRatesOut(client=slug, rates=stored, default=default)

    @router.put("/clients/{slug}/commission-rates", response_model=CommissionRatesOut)
    async def put_rates(slug: str, body: CommissionRatesIn, principal: Auth) -> CommissionRatesOut:
        """Sets the agency's commission rates for the client company (operators only)."""
        principal.require_client(slug, roles=("operator",))
        bad = [b for b, r in body.rates.items() if not Decimal(0) <= r <= 1 or not b or b == "*"]
        if bad:
            raise ProblemError(422, "invalid_rates", "Invalid commission rates",
                               f"rates are fractions from 0 to 1 per named bucket: {', '.join(bad)}")
        async with platform.db.transaction() as s:
            await client_or_404(s, slug)
            await store.put_commission_rates(s, slug, {**body.rates, **({"*": body.default}
                                                                         if body.default is not None else {})},
                                             platform.clock())
        return CommissionRatesOut(client=slug, rates=body.rates, default=body.default)

    @router.get("/clients/{slug}/reports/commission", response_model=CommissionReport,
                responses={200: {"content": {XLSX: {}, "text/csv": {}}}})
    async def commission_report(
        slug: str, principal: Auth, date_from: Annotated[dt.datetime | None, Query(alias="from")] = None,
        to: dt.datetime | None = None,
        format: Literal["json", "csv", "xlsx"] = "json",
    ) -> Any:
        """Per bucket at placement: recovered in the period, the commission, the remittance to the client."""
        principal.require_client(slug)
        now = platform.clock()
        date_to = _period(date_from, to, now)
        async with platform.db.transaction() as s:
            client = await client_or_404(s, slug)
            grouped = await store.report(s, client=slug, group_by="bucket", date_from=date_from, date_to=date_to,
                                         timezone=client.timezone)
            stored = await store.commission_rates(s, slug)
        default = stored.pop("*", None)
        lines = commission({k: Decimal(str(v.get("recovered") or 0)) for k, v in grouped.items()}, stored, default)
        items = [CommissionLine(bucket=c.bucket, recovered=c.recovered, rate=c.rate, commission=c.commission,
                                remittance=c.remittance) for c in lines]
        totals = CommissionLine(bucket="total", recovered=sum((i.recovered for i in items), Decimal(0)),
                                rate=Decimal(0), commission=sum((i.commission for i in items), Decimal(0)),
                                remittance=sum((i.remittance for i in items), Decimal(0)))
        report = CommissionReport(client=slug, currency=client.currency, date_from=date_from, date_to=date_to,
                                  items=items, totals=totals)
        if format == "json":
            return report
        rows = [i.model_dump() for i in items] + [totals.model_dump()]
        columns = list(CommissionLine.model_fields)
        return table_response(f"commission-{slug}", format, columns, headers_for(columns, client.locale), rows,
                              money_columns=MONEY, currency=client.currency)

    @router.get("/clients/{slug}/accounts/{account_ref}", response_model=AccountView)
    async def account(slug: str, account_ref: str, principal: Auth) -> AccountView:
        principal.require_client(slug)
        async with platform.db.transaction() as s:
            row = await store.account_view(s, slug, account_ref)
            arrangements = await store.account_arrangements(s, slug, account_ref)
            contacts = await store.last_contacts(s, slug, account_ref)
        if row is None:
            raise not_found(f"account {account_ref!r}")
        status = account_status(row["status"], recalled=row["recalled_at"] is not None)
        return AccountView(client=slug, account_ref=account_ref, status=status, recalled_at=row["recalled_at"],
                           product=row["product"], placed_at=row["placed_at"], placed_balance=row["placed_balance"],
                           balance=row["balance"], recovered=row["recovered"], days_past_due=row["days_past_due"],
                           bucket=row["current_bucket"], bucket_at_placement=row["bucket_at_placement"],
                           segment=row["segment"], treatment=row["treatment"], channels=row["channels"],
                           offer=row["offer"], propensity=row["propensity"], cost_to_collect=row["cost_to_collect"],
                           expected_net_recovery=row["expected_net_recovery"], value_tier=row["value_tier"],
                           strategy_version=row["strategy_version"], strategy_arm=row["strategy_arm"],
                           model_version=row["model_version"], why=row["why"],
                           arrangements=[ArrangementOut.model_validate(a) for a in arrangements],
                           last_contacts=[ContactSeen.model_validate(c) for c in contacts])

    return router


DASHBOARD = Path(__file__).parent / "web" / "dashboard.html"


def build_dashboard() -> APIRouter:
    """The dashboard page and its charting library (Plotly, served from its wheel: no CDN at run time). The page
    holds no data: it asks for an API key and reads the same API as everyone else."""
    router = APIRouter(include_in_schema=False)
    plotly_js = Path(str(importlib.resources.files("plotly"))) / "package_data" / "plotly.min.js"

    @router.get("/dashboard", response_class=HTMLResponse)
    async def dashboard() -> HTMLResponse:
        return HTMLResponse(DASHBOARD.read_text(encoding="utf-8"), headers={
            "cache-control": "no-store", "x-frame-options": "DENY", "referrer-policy": "no-referrer",
            "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                       "style-src 'self' 'unsafe-inline'; img-src 'self' data:"})

    @router.get("/dashboard/static/plotly.min.js")
    async def plotly() -> FileResponse:
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"cache-control": "public, max-age=86400"})

    return router
