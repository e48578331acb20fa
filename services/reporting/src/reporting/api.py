"""Reporting's HTTP API for a client company: the recovery report with every KPI, roll rates, commission and its
rates, the account view; the reports also as CSV or XLSX exports."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from recaudo_common.dependencies import PlatformDep
from recaudo_common.exports import XLSX, table_response
from recaudo_common.preconditions import IfMatchHeader
from recaudo_common.routing import AuthorisedFirstRoute
from reporting import handlers, queries
from reporting.domain.headers import MONEY, group_for, headers_for
from reporting.domain.periods import instant_of, period_end
from reporting.schemas import (
    BOUND_DOC,
    MONTH_DOC,
    AccountView,
    CommissionLine,
    CommissionRatesIn,
    CommissionRatesOut,
    CommissionReport,
    PeriodBound,
    RecoveryFigures,
    RecoveryReport,
    RollRatesReport,
)
from reporting.state import ClientOfCaller, ClientOfOperator, LiveClient, State, report_limited

# Every report is rate-limited per API key and client company: a script looping without pause is held to it.
router = APIRouter(prefix="/v1", tags=["reporting"],
                   dependencies=[Depends(report_limited)],
                   responses={429: {"description": "too many requests for this key and client company"}},
                   route_class=AuthorisedFirstRoute)
Format = Literal["json", "csv", "xlsx"]


@router.get("/clients/{slug}/reports/recovery", response_model=RecoveryReport,
            responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
async def recovery(
    slug: str, client: LiveClient, platform: PlatformDep, state: State,
    group_by: Literal["bucket", "current_bucket", "segment", "channel", "strategy_arm", "product", "day"]
    | None = None,
    start: Annotated[PeriodBound | None, Query(alias="from", description=BOUND_DOC)] = None,
    end: Annotated[PeriodBound | None, Query(alias="to", description=BOUND_DOC)] = None,
    format: Format = "json",
) -> Any:
    """Placed, recovered and every KPI of MISSION §8, in total and per group (docs/kpis.md)."""
    now = platform.clock()
    date_from, to = instant_of(start, client.timezone), instant_of(end, client.timezone)
    date_to = period_end(date_from, to, now)

    async def compute() -> queries.FactsByGroup:
        return await queries.recovery_facts(platform.db, client=client, group_by=group_by, date_from=date_from,
                                            date_to=date_to)

    # The live report (no `to`) is shared by everyone asking until the change feed says the client company's read
    # models changed (or for a second): this process listens from its first live report on.
    if to is None:
        state.feed.keep_listening()
    facts = await (state.live_figures.get((slug, group_by, date_from), compute) if to is None else compute())
    result = queries.recovery_report(client, facts, as_of=now, group_by=group_by, date_from=date_from,
                                     date_to=date_to)
    if format == "json":
        return result
    rows = [{**g.model_dump(), "key": group_for(group_by, g.key, client.locale)} for g in result.groups] + [
        {"key": group_for(None, "total", client.locale), **result.totals.model_dump()}]
    columns = ["key", *RecoveryFigures.model_fields]
    return table_response(f"recovery-{slug}", format, columns, headers_for(columns, client.locale), rows,
                          money_columns=MONEY, currency=client.currency, locale=client.locale)


@router.get("/clients/{slug}/reports/roll-rates", response_model=RollRatesReport)
async def roll(slug: str, client: ClientOfCaller, platform: PlatformDep,
               date_from: Annotated[str, Query(alias="from", description=MONTH_DOC)],
               to: Annotated[str, Query(description=MONTH_DOC)]) -> RollRatesReport:
    """Roll and cure rates month over month between `from` and `to` (months, YYYY-MM, inclusive)."""
    return await queries.roll_rates_report(platform.db, client=client, date_from=date_from, to=to)


@router.get("/clients/{slug}/commission-rates", response_model=CommissionRatesOut)
async def get_rates(slug: str, client: ClientOfCaller, platform: PlatformDep,
                    response: Response) -> CommissionRatesOut:
    """The agency's commission rates for the client company, per bucket at placement, and the rate of any other
    bucket; the commission report prices what was recovered with them. The ETag header names them as read (send
    it back as If-Match)."""
    rates = await queries.commission_rates(platform.db, client=client)
    response.headers["ETag"] = handlers.commission_rates_etag(rates.rates, rates.default)
    return rates


@router.put("/clients/{slug}/commission-rates", response_model=CommissionRatesOut, responses={
    412: {"description": "precondition_failed: If-Match names rates that have changed since"}})
async def put_rates(slug: str, body: CommissionRatesIn, client: ClientOfOperator, platform: PlatformDep,
                    if_match: IfMatchHeader, response: Response) -> CommissionRatesOut:
    """Sets the agency's commission rates for the client company (operators only). With `If-Match` (the ETag of
    what the caller read), refused 412 when someone changed them meanwhile."""
    await handlers.set_commission_rates(platform.db, client=client.slug, rates=body.rates, default=body.default,
                                        now=platform.clock(), if_match=if_match)
    response.headers["ETag"] = handlers.commission_rates_etag(body.rates, body.default)
    return CommissionRatesOut(client=client.slug, rates=body.rates, default=body.default)


@router.get("/clients/{slug}/reports/commission", response_model=CommissionReport,
            responses={200: {"content": {XLSX: {}, "text/csv": {}}}})
async def commission_report(
    slug: str, client: ClientOfCaller, platform: PlatformDep,
    start: Annotated[PeriodBound | None, Query(alias="from", description=BOUND_DOC)] = None,
    end: Annotated[PeriodBound | None, Query(alias="to", description=BOUND_DOC)] = None,
    format: Format = "json",
) -> Any:
    """Per bucket at placement: recovered in the period, the commission, the remittance to the client."""
    date_from, to = instant_of(start, client.timezone), instant_of(end, client.timezone)
    date_to = period_end(date_from, to, platform.clock())
    report = await queries.commission_report(platform.db, client=client, date_from=date_from, date_to=date_to)
    if format == "json":
        return report
    rows = [{**i.model_dump(), "bucket": group_for("bucket", i.bucket, client.locale)}
            for i in [*report.items, report.totals]]
    columns = list(CommissionLine.model_fields)
    return table_response(f"commission-{slug}", format, columns, headers_for(columns, client.locale), rows,
                          money_columns=MONEY, currency=client.currency, locale=client.locale)


@router.get("/clients/{slug}/accounts/{account_ref}", response_model=AccountView)
async def account(slug: str, account_ref: str, client: ClientOfCaller, platform: PlatformDep) -> AccountView:
    """One account as operators and its client company see it: its balance and what was recovered, its bucket,
    segment and treatment with why (propensity, cost to collect, expected net recovery, strategy version and arm),
    its days past due today in the client company's time zone; 404 for an account the client company never
    placed."""
    return await queries.account_view(platform.db, client=client, account_ref=account_ref, now=platform.clock())
