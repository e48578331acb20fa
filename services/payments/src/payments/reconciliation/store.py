"""Reconciliation's queries: what the ledger holds of a gateway account's payments (by id, and applied in a day),
the payments it was notified of in a day, and the reports (one per account and local day, rerun in place)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments.reconciliation.domain import Held
from payments.reconciliation.schemas import ReconciliationOut
from recaudo_common.db import sql

# A payment given back whole while in suspense is `reversed` with no account: it was never applied here.
_HELD = ("SELECT external_id, CASE WHEN status = 'reversed' AND account_ref IS NULL THEN 'unmatched' ELSE status END, "
         "amount, currency, reversed_amount FROM payments.payments WHERE gateway = :g ")


def _held(rows: Sequence[tuple[str, str, object, str, object]]) -> list[Held]:
    return [Held(str(x), str(st), Decimal(str(a)), str(cur), Decimal(str(rev))) for x, st, a, cur, rev in rows]


async def held_by_ids(s: AsyncSession, gateway: str, ids: Sequence[str]) -> dict[str, Held]:
    rows = (await s.execute(sql(_HELD + "AND external_id = ANY(:ids)"), {"g": gateway, "ids": list(ids)})).all()
    return {h.gateway_payment_id: h for h in _held([tuple(r) for r in rows])}


async def applied_between(s: AsyncSession, gateway: str, start: dt.datetime, end: dt.datetime) -> list[Held]:
    """The account's payments applied (or since reversed) that were paid in [start, end)."""
    rows = (await s.execute(sql(_HELD + "AND paid_at >= :a AND paid_at < :b AND status <> 'unmatched' "
                                        "ORDER BY external_id"), {"g": gateway, "a": start, "b": end})).all()
    return _held([tuple(r) for r in rows])


async def notified_between(s: AsyncSession, gateway: str, start: dt.datetime, end: dt.datetime) -> list[str]:
    """The gateway payments notified in [start, end) (first or last time), in order."""
    rows = await s.execute(sql(
        "SELECT gateway_payment_id FROM payments.gateway_payment_states WHERE gateway = :g "
        "AND ((first_seen >= :a AND first_seen < :b) OR (last_seen >= :a AND last_seen < :b)) "
        "ORDER BY gateway_payment_id"), {"g": gateway, "a": start, "b": end})
    return [str(r[0]) for r in rows]


async def save_report(s: AsyncSession, *, client: str, report: ReconciliationOut) -> None:
    await s.execute(sql(
        """INSERT INTO payments.gateway_reconciliations AS r (id, client_slug, account_name, day, status, reason,
               report, ran_at)
           VALUES (:id, :c, :n, :d, :st, :why, CAST(:report AS jsonb), :at)
           ON CONFLICT (client_slug, account_name, day) DO UPDATE SET id = excluded.id, status = excluded.status,
               reason = excluded.reason, report = excluded.report, ran_at = excluded.ran_at"""),
        {"id": report.id, "c": client, "n": report.account, "d": report.day, "st": report.status,
         "why": report.reason, "report": report.model_dump_json(), "at": report.ran_at})


async def report_of(s: AsyncSession, client: str, account: str, day: dt.date) -> ReconciliationOut | None:
    raw = await s.scalar(sql(
        "SELECT CAST(report AS text) FROM payments.gateway_reconciliations WHERE client_slug = :c "
        "AND account_name = :n AND day = :d"), {"c": client, "n": account, "d": day})
    return None if raw is None else ReconciliationOut.model_validate_json(raw)


async def settled_days(s: AsyncSession, day_of: dict[tuple[str, str], dt.date]) -> set[tuple[str, str]]:
    """Of these (client, account) and their day, those whose report is final (anything but failed)."""
    rows = await s.execute(sql(
        "SELECT client_slug, account_name, day FROM payments.gateway_reconciliations WHERE status <> 'failed' "
        "AND day = ANY(:days)"), {"days": sorted(set(day_of.values()))})
    return {(c, n) for c, n, d in rows if day_of.get((c, n)) == d}


async def accounts(s: AsyncSession) -> list[tuple[str, str]]:
    rows = await s.execute(sql("SELECT client_slug, name FROM payments.gateway_accounts ORDER BY client_slug, name"))
    return [(str(c), str(n)) for c, n in rows]
