"""The read model asked for roll and cure rates: each placed account's state at each month's end (its bucket
then, paid, settled or written off, or recalled)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from reporting.rows import MonthEndState
from reporting.store import LATEST_STATUS_FIRST, read_model_sql


async def month_end_states(s: AsyncSession, *, client: str, ends: list[dt.datetime]) -> list[MonthEndState]:
    """Each placed account's state at each instant: its bucket then, or paid/settled/written_off, or recalled; a
    bucket with
    its first day past due as assigned, or, for an assignment that did not say it (account.segmented v1), as the
    client company's latest assignment to a bucket of that label said it."""
    # The status rule of recaudo_common.accounts.account_status, stated again in SQL because it runs per row over
    # history: recalled wins over whatever the ledger says, then paid, settled or written off (closed: the bucket
    # segmentation last gave it is no longer where it is), else the account's bucket.
    rows = await s.execute(read_model_sql(
        f"""WITH seen AS (SELECT DISTINCT ON (bucket) bucket, bucket_low FROM reporting.bucket_changes
                         WHERE client_slug = :c AND bucket_low IS NOT NULL ORDER BY bucket, at DESC),
           states AS (
             SELECT e.n AS period, a.account_ref,
                    CASE WHEN a.recalled_at IS NOT NULL AND a.recalled_at < e.at THEN 'recalled'
                         WHEN st.status IN ('paid', 'settled', 'written_off') THEN st.status END AS closed,
                    b.bucket, b.bucket_low
             FROM unnest(CAST(:ends AS timestamptz[])) WITH ORDINALITY AS e(at, n)
             JOIN reporting.accounts a ON a.client_slug = :c AND a.placed_at < e.at
             LEFT JOIN LATERAL (SELECT bucket, bucket_low FROM reporting.bucket_changes bc
                                WHERE bc.client_slug = a.client_slug AND bc.account_ref = a.account_ref
                                  AND bc.at < e.at ORDER BY bc.at DESC LIMIT 1) b ON true
             LEFT JOIN LATERAL (SELECT status FROM reporting.status_changes sc WHERE sc.client_slug = a.client_slug
                                AND sc.account_ref = a.account_ref AND sc.at < e.at
                                ORDER BY {LATEST_STATUS_FIRST} LIMIT 1) st
                    ON true)
           SELECT period, account_ref, coalesce(closed, states.bucket) AS state,
                  CASE WHEN closed IS NULL THEN coalesce(states.bucket_low, seen.bucket_low) END AS bucket_low
           FROM states LEFT JOIN seen ON seen.bucket = states.bucket"""), {"c": client, "ends": ends})
    return [MonthEndState(*r) for r in rows.all()]
