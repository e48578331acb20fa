"""Experiment routes: the strategy's champion against its challenger, read out for a client company."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from recaudo_common.dependencies import PlatformDep
from reporting.domain.periods import period_end
from reporting.experiments import queries
from reporting.experiments.schemas import ExperimentReport
from reporting.state import ClientOfCaller, report_limited

router = APIRouter(prefix="/v1/clients/{slug}", tags=["reporting"], dependencies=[Depends(report_limited)],
                   responses={429: {"description": "too many requests for this key and client company"}})


@router.get("/strategy/experiment", response_model=ExperimentReport)
async def strategy_experiment(
    slug: str, client: ClientOfCaller, platform: PlatformDep,
    date_from: Annotated[dt.datetime | None, Query(alias="from")] = None, to: dt.datetime | None = None,
) -> ExperimentReport:
    """The accounts of each `strategy_arm` and every payment on them (or those paid in [from, to)): the
    challenger's lift in recovery rate over the champion's, the p-value and 95 % interval of the difference in
    their paying shares, and a verdict once each arm has the minimum sample (docs/kpis.md, Experiments)."""
    date_to = period_end(date_from, to, platform.clock()) if date_from or to else None
    return await queries.strategy_experiment(platform.db, client=client, date_from=date_from, date_to=date_to)
