"""The figures of an experiment's arms from the read models: each arm's accounts, those that paid, the balance placed
with them and what was recovered from them; for the best-time experiment, the accounts its contacts reached too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from reporting.domain.experiments import Arm
from reporting.store import REACHED, read_model_sql

# Which arm each account is in, as (account_ref, arm): one query per experiment, each a client company's.
TODAYS_STRATEGY_ARMS = "SELECT account_ref, strategy_arm AS arm FROM reporting.accounts WHERE client_slug = :c"
# The arm of the account's latest assignment under the version (its history, else the account view's when the
# version is still its current one: assignments from before migration 0017 are known only there).
VERSION_ARMS = """
    SELECT DISTINCT ON (account_ref) account_ref, arm FROM (
        SELECT account_ref, strategy_arm AS arm, at FROM reporting.bucket_changes
        WHERE client_slug = :c AND strategy_version = :version AND strategy_arm IS NOT NULL
        UNION ALL
        SELECT account_ref, strategy_arm, segmented_at FROM reporting.accounts
        WHERE client_slug = :c AND strategy_version = :version AND segmented_at IS NOT NULL) v
    ORDER BY account_ref, at DESC"""
# The arm of the account's first attempt planned under a best-time experiment (the account is exposed from then).
BEST_TIME_ARMS = """
    SELECT DISTINCT ON (account_ref) account_ref, best_time_arm AS arm FROM reporting.contacts
    WHERE client_slug = :c AND attempted AND best_time_arm IS NOT NULL
      AND (CAST(:to AS timestamptz) IS NULL OR at < :to)
    ORDER BY account_ref, at"""


async def arms_of(s: AsyncSession, *, client: str, arm_source: str, arms: tuple[str, ...],
                  date_from: dt.datetime | None, date_to: dt.datetime | None,
                  version: int | None = None) -> dict[str, Arm]:
    """Each arm's accounts as `arm_source` places them (accounts placed before `date_to` when it is given), with the
    payments on its accounts net of their reversals: all of them, or those paid within [date_from, date_to). An
    account pays when what it paid, net, is more than zero. An arm no account is in has zero figures."""
    rows = await s.execute(read_model_sql(
        f"""SELECT x.arm, count(*) AS accounts,
                  count(*) FILTER (WHERE p.recovered > 0) AS paying_accounts,
                  coalesce(sum(a.placed_balance), 0) AS placed, coalesce(sum(p.recovered), 0) AS recovered
           FROM ({arm_source}) x
           JOIN reporting.accounts a ON a.client_slug = :c AND a.account_ref = x.account_ref
           LEFT JOIN (SELECT account_ref, sum(amount - reversed_amount) AS recovered FROM reporting.payments
                      WHERE client_slug = :c AND (CAST(:from AS timestamptz) IS NULL OR paid_at >= :from)
                        AND (CAST(:to AS timestamptz) IS NULL OR paid_at < :to)
                      GROUP BY account_ref) p ON p.account_ref = a.account_ref
           WHERE x.arm = ANY(:arms) AND (CAST(:to AS timestamptz) IS NULL OR a.placed_at < :to)
           GROUP BY x.arm"""),
        {"c": client, "arms": list(arms), "from": date_from, "to": date_to, "version": version})
    found = {r.arm: Arm(r.accounts, r.paying_accounts, Decimal(r.placed), Decimal(r.recovered)) for r in rows}
    return {arm: found.get(arm, Arm(0, 0, Decimal(0), Decimal(0))) for arm in arms}


async def strategy_arms(s: AsyncSession, *, client: str, arms: tuple[str, ...], date_from: dt.datetime | None,
                        date_to: dt.datetime | None, version: int | None = None) -> dict[str, Arm]:
    """The strategy's arms: today's `strategy_arm` of each account, or, for a version, the arm of each account
    assigned under it."""
    return await arms_of(s, client=client, arm_source=TODAYS_STRATEGY_ARMS if version is None else VERSION_ARMS,
                         arms=arms, date_from=date_from, date_to=date_to, version=version)


async def contacts_reached(s: AsyncSession, *, client: str, arms: tuple[str, ...], date_from: dt.datetime | None,
                           date_to: dt.datetime | None) -> dict[str, tuple[int, int]]:
    """Per best-time arm: its attempts (real ones: the sandbox's are simulated, never a contact) in the period and
    how many of them reached the debtor (delivered, or an outcome that reached someone)."""
    rows = await s.execute(read_model_sql(
        f"""SELECT best_time_arm AS arm, count(*) AS attempts,
                  count(*) FILTER (WHERE delivered OR outcome IN {REACHED}) AS reached
           FROM reporting.contacts
           WHERE client_slug = :c AND attempted AND NOT simulated AND best_time_arm = ANY(:arms)
             AND (CAST(:from AS timestamptz) IS NULL OR at >= :from) AND (CAST(:to AS timestamptz) IS NULL OR at < :to)
           GROUP BY best_time_arm"""),
        {"c": client, "arms": list(arms), "from": date_from, "to": date_to})
    found = {r.arm: (int(r.attempts), int(r.reached)) for r in rows}
    return {arm: found.get(arm, (0, 0)) for arm in arms}
