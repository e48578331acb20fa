"""Reporting's questions: the read models asked and the answers put in the API's bodies; nothing written here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from recaudo_common.accounts import account_status, days_past_due_on
from recaudo_common.client_copy import ClientCopy
from recaudo_common.clock import local_instant, local_today
from recaudo_common.cost_tables import get_cost_table
from recaudo_common.db import Database
from recaudo_common.domain_errors import NotFound
from reporting import commission_store, month_end_store, store
from reporting.best_times.store import segment_best_times
from reporting.domain.best_times import shown_best_times, why_with_best_times
from reporting.domain.kpis import Facts, bucket_order, commission, roll_rates, summed
from reporting.domain.periods import months, next_month
from reporting.schemas import (
    AccountView,
    ArrangementOut,
    BestTimeOut,
    CommissionLine,
    CommissionRatesOut,
    CommissionReport,
    ContactSeen,
    RecoveryFigures,
    RecoveryGroup,
    RecoveryReport,
    RollRateOut,
    RollRatesReport,
)

FactsByGroup = tuple[Facts, dict[str, Facts]]  # the totals, and the facts of each group (none when not grouped)


async def recovery_facts(db: Database, *, client: ClientCopy, group_by: str | None, date_from: dt.datetime | None,
                         date_to: dt.datetime) -> FactsByGroup:
    async with db.transaction() as s:
        prices = await get_cost_table(s, store.SCHEMA, client.slug)
        grouped = (await store.report(s, client=client.slug, group_by=group_by, date_from=date_from,
                                      date_to=date_to, timezone=client.timezone, cost_table=prices)
                   ) if group_by else {}
        if group_by in store.ACCOUNT_KEYS:  # each fact in exactly one group: the totals add up, no second pass
            return summed(grouped.values()), grouped
        totals = await store.report(s, client=client.slug, group_by=None, date_from=date_from, date_to=date_to,
                                    timezone=client.timezone, cost_table=prices)
    return totals.get("all", Facts()), grouped


def recovery_report(client: ClientCopy, facts: FactsByGroup, *, as_of: dt.datetime, group_by: str | None,
                    date_from: dt.datetime | None, date_to: dt.datetime) -> RecoveryReport:
    totals, grouped = facts
    groups = sorted((RecoveryGroup(key=key, **RecoveryFigures.of(f).model_dump()) for key, f in grouped.items()),
                    key=lambda g: bucket_order(g.key))
    return RecoveryReport(client=client.slug, currency=client.currency, locale=client.locale, as_of=as_of,
                          group_by=group_by, date_from=date_from, date_to=date_to,
                          totals=RecoveryFigures.of(totals), groups=groups)


async def roll_rates_report(db: Database, *, client: ClientCopy, date_from: str, to: str) -> RollRatesReport:
    """Roll and cure rates month over month, each month's end in the client company's time zone."""
    periods = months(date_from, to)
    async with db.transaction() as s:
        ends = [local_instant(next_month(m), client.timezone) for m in periods]
        states = await month_end_store.month_end_states(s, client=client.slug, ends=ends)
    labels = [m.strftime("%Y-%m") for m in periods]
    return RollRatesReport(client=client.slug, months=labels, items=[RollRateOut(
        period=r.period, bucket=r.bucket, accounts=r.accounts, rolled_forward=r.rolled_forward, stayed=r.stayed,
        rolled_back=r.rolled_back, cured=r.cured, written_off=r.written_off, recalled=r.recalled,
        roll_rate=float(r.roll_rate) if r.roll_rate is not None else None,
        cure_rate=float(r.cure_rate) if r.cure_rate is not None else None) for r in roll_rates(labels, states)])


async def commission_rates(db: Database, *, client: ClientCopy) -> CommissionRatesOut:
    async with db.transaction() as s:
        rates, default = await commission_store.commission_rates(s, client.slug)
    return CommissionRatesOut(client=client.slug, rates=rates, default=default)


async def commission_report(db: Database, *, client: ClientCopy, date_from: dt.datetime | None,
                            date_to: dt.datetime) -> CommissionReport:
    """Per bucket at placement: recovered in the period, the agency's commission, the remittance to the client."""
    async with db.transaction() as s:
        grouped = await store.report(s, client=client.slug, group_by="bucket", date_from=date_from, date_to=date_to,
                                     timezone=client.timezone)
        rates, default = await commission_store.commission_rates(s, client.slug)
    lines = commission({bucket: f.recovered for bucket, f in grouped.items()}, rates, default)
    items = [CommissionLine(bucket=c.bucket, recovered=c.recovered, rate=c.rate, commission=c.commission,
                            remittance=c.remittance) for c in lines]
    totals = CommissionLine(bucket="total", recovered=sum((i.recovered for i in items), Decimal(0)),
                            rate=Decimal(0), commission=sum((i.commission for i in items), Decimal(0)),
                            remittance=sum((i.remittance for i in items), Decimal(0)))
    return CommissionReport(client=client.slug, currency=client.currency, date_from=date_from, date_to=date_to,
                            items=items, totals=totals)


async def account_view(db: Database, *, client: ClientCopy, account_ref: str, now: dt.datetime) -> AccountView:
    """The account as the read models hold it, its days past due aged to the client company's day at `now`."""
    async with db.transaction() as s:
        row = await store.account_view(s, client.slug, account_ref)
        arrangements = await store.account_arrangements(s, client.slug, account_ref)
        contacts = await store.last_contacts(s, client.slug, account_ref)
        learned = [] if row is None or row.segment is None else await segment_best_times(s, client.slug, row.segment)
    if row is None:
        raise NotFound(f"account {account_ref!r}")
    best = shown_best_times(learned, row.channels)
    status = account_status(row.status, recalled=row.recalled_at is not None)
    days_past_due = days_past_due_on(local_today(client.timezone, now), days_past_due=row.days_past_due,
                                     as_of=row.days_past_due_as_of, aging_held=row.aging_held, status=status)
    return AccountView(client=client.slug, account_ref=account_ref, status=status, recalled_at=row.recalled_at,
                       product=row.product, placed_at=row.placed_at, placed_balance=row.placed_balance,
                       balance=row.balance, recovered=row.recovered, days_past_due=days_past_due,
                       bucket=row.current_bucket, bucket_at_placement=row.bucket_at_placement, segment=row.segment,
                       treatment=row.treatment, channels=row.channels, offer=row.offer, propensity=row.propensity,
                       cost_to_collect=row.cost_to_collect, expected_net_recovery=row.expected_net_recovery,
                       value_tier=row.value_tier, strategy_version=row.strategy_version,
                       strategy_arm=row.strategy_arm, model_version=row.model_version,
                       why=why_with_best_times(row.why, best),
                       arrangements=[ArrangementOut.model_validate(a, from_attributes=True) for a in arrangements],
                       last_contacts=[ContactSeen.model_validate(c, from_attributes=True) for c in contacts],
                       best_times=[BestTimeOut.model_validate(b, from_attributes=True) for b in best])
