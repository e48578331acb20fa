"""Experiments asked of the read models and read out into the API's body; nothing written here."""

from __future__ import annotations

import datetime as dt

from recaudo_common.client_copy import ClientCopy
from recaudo_common.db import Database
from reporting.domain.experiments import MIN_ACCOUNTS_PER_ARM, read_out
from reporting.experiments import store
from reporting.experiments.schemas import BestTimeExperimentReport, ExperimentReport

STRATEGY_ARMS = ("champion", "challenger")  # the control first, then the treatment
BEST_TIME_ARMS = ("first_slot", "best_time")


async def strategy_experiment(db: Database, *, client: ClientCopy, date_from: dt.datetime | None,
                              date_to: dt.datetime | None, version: int | None = None) -> ExperimentReport:
    """The champion (control) against the challenger (treatment), from the account view's `strategy_arm`, or from
    the assignments made under one strategy version."""
    async with db.transaction() as s:
        arms = await store.strategy_arms(s, client=client.slug, arms=STRATEGY_ARMS, date_from=date_from,
                                         date_to=date_to, version=version)
    control, treatment = (arms[a] for a in STRATEGY_ARMS)
    return ExperimentReport.of(client=client.slug, currency=client.currency, date_from=date_from, date_to=date_to,
                               arms=arms, readout=read_out(control, treatment), min_accounts=MIN_ACCOUNTS_PER_ARM)


async def best_time_experiment(db: Database, *, client: ClientCopy, date_from: dt.datetime | None,
                               date_to: dt.datetime | None) -> BestTimeExperimentReport:
    """The first allowed slot (control) against best time (treatment), each account in the arm of its first
    attempt planned under the client company's best-time experiment; the same statistics as the strategy's."""
    async with db.transaction() as s:
        arms = await store.arms_of(s, client=client.slug, arm_source=store.BEST_TIME_ARMS, arms=BEST_TIME_ARMS,
                                   date_from=date_from, date_to=date_to)
        contacts = await store.contacts_reached(s, client=client.slug, arms=BEST_TIME_ARMS, date_from=date_from,
                                                date_to=date_to)
    control, treatment = (arms[a] for a in BEST_TIME_ARMS)
    return BestTimeExperimentReport.of(client=client.slug, currency=client.currency, date_from=date_from,
                                       date_to=date_to, arms=arms, contacts=contacts,
                                       readout=read_out(control, treatment), min_accounts=MIN_ACCOUNTS_PER_ARM)
