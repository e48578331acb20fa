"""Promises to pay: kept when payments of at least the amount arrive by the end of the due date plus one grace
day in the client company's time zone; broken once that moment has passed without them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from recaudo_common.promises import deadline


def verdict(*, amount: Decimal, paid: Decimal, due_date: dt.date, timezone: str,
            now: dt.datetime) -> Literal["kept", "broken", "pending"]:
    """`paid` counts only the payments made from the promise until its deadline."""
    if paid >= amount:
        return "kept"
    return "broken" if now >= deadline(due_date, timezone) else "pending"
