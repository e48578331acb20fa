"""Reporting's HTTP API: the recovery report per client company."""


import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from recaudo_common.auth import Principal
from recaudo_common.client_copy import get_client
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.runtime import Platform
from reporting import store
from reporting.domain.kpis import GROUPINGS, recovery_rate


class RecoveryFigures(BaseModel):
    """v1: amounts are decimal strings, rates are fractions."""

    accounts_placed: int
    placed_balance: Decimal
    accounts_recalled: int
    recovered: Decimal
    payments: int
    recovery_rate: float


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


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "accounts_placed": row["accounts_placed"], "placed_balance": row["placed_balance"],
        "accounts_recalled": row["accounts_recalled"], "recovered": row["recovered"], "payments": row["payments"],
        "recovery_rate": float(recovery_rate(Decimal(row["recovered"]), Decimal(row["placed_balance"]))),
    }


def _order(key: str) -> tuple[int, str]:
    """Buckets sort by their lower bound ('0', '1-30', ..., '361+'); other keys alphabetically."""
    m = re.match(r"^-?\d+", key)
    return (int(m.group()) if m else 1 << 30, key)


def build_router(platform: Platform) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["reporting"])
    Auth = Annotated[Principal, Depends(platform.auth)]

    @router.get("/clients/{slug}/reports/recovery", response_model=RecoveryReport)
    async def recovery(
        slug: str, principal: Auth, group_by: Literal["bucket", "current_bucket", "segment", "product"] | None = None,
        date_from: Annotated[dt.datetime | None, Query(alias="from")] = None, to: dt.datetime | None = None,
    ) -> RecoveryReport:
        principal.require_client(slug)
        now = platform.clock()
        date_to = to or now
        for value in (date_from, date_to):
            if value is not None and value.tzinfo is None:
                raise ProblemError(422, "naive_datetime", "Invalid period", "`from` and `to` need a UTC offset")
        async with platform.db.transaction() as s:
            client = await get_client(s, store.SCHEMA, slug)
            if client is None:
                raise not_found(f"client company {slug!r}")
            totals = await store.recovery(s, client=slug, column=None, date_from=date_from, date_to=date_to)
            grouped = (await store.recovery(s, client=slug, column=GROUPINGS[group_by], date_from=date_from,
                                            date_to=date_to)) if group_by else []
        total = totals[0] if totals else {"accounts_placed": 0, "placed_balance": 0, "accounts_recalled": 0,
                                          "recovered": 0, "payments": 0}
        groups = sorted((RecoveryGroup(key=g["key"], **_figures(g)) for g in grouped), key=lambda g: _order(g.key))
        return RecoveryReport(client=slug, currency=client.currency, as_of=now, group_by=group_by,
                              date_from=date_from, date_to=date_to, totals=RecoveryFigures(**_figures(total)),
                              groups=groups)

    @router.get("/clients/{slug}/accounts/{account_ref}", response_model=AccountView)
    async def account(slug: str, account_ref: str, principal: Auth) -> AccountView:
        principal.require_client(slug)
        async with platform.db.transaction() as s:
            row = await store.account_view(s, slug, account_ref)
        if row is None:
            raise not_found(f"account {account_ref!r}")
        status = "recalled" if row["recalled_at"] else row["status"]
        return AccountView(client=slug, account_ref=account_ref, status=status, recalled_at=row["recalled_at"],
                           product=row["product"], placed_at=row["placed_at"], placed_balance=row["placed_balance"],
                           balance=row["balance"], recovered=row["recovered"], days_past_due=row["days_past_due"],
                           bucket=row["current_bucket"], bucket_at_placement=row["bucket_at_placement"],
                           segment=row["segment"], treatment=row["treatment"], channels=row["channels"],
                           offer=row["offer"], propensity=row["propensity"], cost_to_collect=row["cost_to_collect"],
                           expected_net_recovery=row["expected_net_recovery"], value_tier=row["value_tier"],
                           strategy_version=row["strategy_version"], strategy_arm=row["strategy_arm"],
                           model_version=row["model_version"], why=row["why"])

    return router
