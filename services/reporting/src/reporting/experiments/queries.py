"""Experiments asked of the read models and read out into the API's body; nothing written here."""

from __future__ import annotations

import datetime as dt

from recaudo_common.client_copy import ClientCopy
from recaudo_common.db import Database
from reporting.domain.experiments import MIN_ACCOUNTS_PER_ARM, read_out
from reporting.experiments import store
from reporting.experiments.schemas import ExperimentReport

STRATEGY_ARMS = ("champion", "challenger")  # the control first, then the treatment


async def strategy_experiment(db: Database, *, client: ClientCopy, date_from: dt.datetime | None,
                              date_to: dt.datetime | None) -> ExperimentReport:
    """The champion (control) against the challenger (treatment), from the account view's `strategy_arm`."""
    async with db.transaction() as s:
        arms = await store.strategy_arms(s, client=client.slug, arms=STRATEGY_ARMS, date_from=date_from,
                                         date_to=date_to)
    control, treatment = (arms[a] for a in STRATEGY_ARMS)
    return ExperimentReport.of(client=client.slug, currency=client.currency, date_from=date_from, date_to=date_to,
                               arms=arms, readout=read_out(control, treatment), min_accounts=MIN_ACCOUNTS_PER_ARM)
