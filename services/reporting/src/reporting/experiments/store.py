"""The figures of an experiment's arms from the read models: each arm's accounts, those that paid, the balance placed
with them and what was recovered from them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from reporting.domain.experiments import Arm
from reporting.store import read_model_sql


async def strategy_arms(s: AsyncSession, *, client: str, arms: tuple[str, ...], date_from: dt.datetime | None,
                        date_to: dt.datetime | None) -> dict[str, Arm]:
    """Each arm of the account view's `strategy_arm` (accounts placed before `date_to` when it is given), with the
    payments on its accounts net of their reversals: all of them, or those paid within [date_from, date_to). An
    account pays when what it paid, net, is more than zero. An arm no account is in has zero figures."""
    rows = await s.execute(read_model_sql(
        """SELECT a.strategy_arm AS arm, count(*) AS accounts,
                  count(*) FILTER (WHERE p.recovered > 0) AS paying_accounts,
                  coalesce(sum(a.placed_balance), 0) AS placed, coalesce(sum(p.recovered), 0) AS recovered
           FROM reporting.accounts a
           LEFT JOIN (SELECT account_ref, sum(amount - reversed_amount) AS recovered FROM reporting.payments
                      WHERE client_slug = :c AND (CAST(:from AS timestamptz) IS NULL OR paid_at >= :from)
                        AND (CAST(:to AS timestamptz) IS NULL OR paid_at < :to)
                      GROUP BY account_ref) p ON p.account_ref = a.account_ref
           WHERE a.client_slug = :c AND a.strategy_arm = ANY(:arms)
             AND (CAST(:to AS timestamptz) IS NULL OR a.placed_at < :to)
           GROUP BY a.strategy_arm"""),
        {"c": client, "arms": list(arms), "from": date_from, "to": date_to})
    found = {r.arm: Arm(r.accounts, r.paying_accounts, Decimal(r.placed), Decimal(r.recovered)) for r in rows}
    return {arm: found.get(arm, Arm(0, 0, Decimal(0), Decimal(0))) for arm in arms}
