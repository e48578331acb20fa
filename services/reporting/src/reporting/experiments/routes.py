"""Experiment routes: the strategy's champion against its challenger (today's or a version's), and best time against
the first allowed slot, read out for a client company."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from recaudo_common.dependencies import PlatformDep
from recaudo_common.routing import AuthorisedFirstRoute
from reporting.domain.periods import instant_of, period_end
from reporting.experiments import queries
from reporting.experiments.schemas import BestTimeExperimentReport, ExperimentReport
from reporting.schemas import BOUND_DOC, PeriodBound
from reporting.state import ClientOfCaller, report_limited

router = APIRouter(prefix="/v1/clients/{slug}", tags=["reporting"],
                   dependencies=[Depends(report_limited)],
                   responses={429: {"description": "too many requests for this key and client company"}},
                   route_class=AuthorisedFirstRoute)


@router.get("/strategy/experiment", response_model=ExperimentReport)
async def strategy_experiment(
    slug: str, client: ClientOfCaller, platform: PlatformDep,
    start: Annotated[PeriodBound | None, Query(alias="from", description=BOUND_DOC)] = None,
    end: Annotated[PeriodBound | None, Query(alias="to", description=BOUND_DOC)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> ExperimentReport:
    """The accounts of each `strategy_arm` and every payment on them (or those paid in [from, to)): the
    challenger's lift in recovery rate over the champion's, the p-value and 95 % interval of the difference in
    their paying shares, and a verdict once each arm has the minimum sample (docs/kpis.md, Experiments). With
    `version`, the arms are those of the accounts assigned under that strategy version (its arm there)."""
    date_from, to = instant_of(start, client.timezone), instant_of(end, client.timezone)
    date_to = period_end(date_from, to, platform.clock()) if date_from or to else None
    return await queries.strategy_experiment(platform.db, client=client, date_from=date_from, date_to=date_to,
                                             version=version)


@router.get("/best-time/experiment", response_model=BestTimeExperimentReport)
async def best_time_experiment(
    slug: str, client: ClientOfCaller, platform: PlatformDep,
    start: Annotated[PeriodBound | None, Query(alias="from", description=BOUND_DOC)] = None,
    end: Annotated[PeriodBound | None, Query(alias="to", description=BOUND_DOC)] = None,
) -> BestTimeExperimentReport:
    """Best time against the first allowed slot (outreach's best-time experiment): each arm's accounts and every
    payment on them (or those paid in [from, to)), best time's lift in recovery rate, the p-value, 95 % interval
    and verdict as the strategy experiment's, and each arm's contact rate (docs/kpis.md, Experiments)."""
    date_from, to = instant_of(start, client.timezone), instant_of(end, client.timezone)
    date_to = period_end(date_from, to, platform.clock()) if date_from or to else None
    return await queries.best_time_experiment(platform.db, client=client, date_from=date_from, date_to=date_to)
