"""Reconciliation's routes: an operator runs (or runs again) a gateway account's reconciliation of a past local day;
operators and the client company read the day's report."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter

from payments.api import ClientOfCaller, ClientOfOperator, Settings
from payments.gateways.routes import AccountName, Keyring
from payments.reconciliation import handlers
from payments.reconciliation.schemas import ReconciliationIn, ReconciliationOut
from recaudo_common.dependencies import PlatformDep
from recaudo_common.routing import AuthorisedFirstRoute

router = APIRouter(prefix="/v1/clients/{slug}/gateways/{name}/reconciliations", tags=["payments"],
                   route_class=AuthorisedFirstRoute)


@router.post("", response_model=ReconciliationOut,
             responses={404: {"description": "no such gateway account"},
                        422: {"description": "the day is not over yet in the client company's zone"}})
async def run_reconciliation(name: AccountName, body: ReconciliationIn, client: ClientOfOperator,
                             platform: PlatformDep, settings: Settings, keyring: Keyring) -> ReconciliationOut:
    """Compares what the gateway reports of the day with what was applied here and keeps the report (its id in
    the answer): `clean`, `differences`, `failed` (the gateway could not be asked; the reason) or
    `not_configured` (a credential the gateway's API needs is not set)."""
    return await handlers.reconcile(platform.db, settings, keyring, client=client.slug, name=name, day=body.day,
                                    now=platform.clock())


@router.get("/{day}", response_model=ReconciliationOut, responses={404: {"description": "not reconciled yet"}})
async def get_reconciliation(name: AccountName, day: dt.date, client: ClientOfCaller,
                             platform: PlatformDep) -> ReconciliationOut:
    """The account's report of that day, as last run."""
    return await handlers.report(platform.db, client=client.slug, name=name, day=day)
