"""KPI definitions, one function each, as docs/kpis.md states them."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal


def recovery_rate(recovered: Decimal, placed_balance: Decimal) -> Decimal:
    """Recovered (payments in the period net of their reversals) over the balance placed before `to`."""
    if placed_balance <= 0:
        return Decimal(0)
    return (recovered / placed_balance).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)


GROUPINGS = {"bucket": "bucket_at_placement", "current_bucket": "current_bucket", "segment": "segment",
             "product": "product"}
