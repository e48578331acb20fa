"""The rules of a person's data under the data-protection laws: while an obligation is active its data is kept
(the legal basis), an erasure completes when every service holding a copy has erased it, and retention ends the
legal basis a configured number of days after the person's last account was recalled or closed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from recaudo_common.accounts import CLOSED


@dataclass(frozen=True)
class Standing:
    """Where one account of a person stands: what is left to pay, what the ledger says, whether the client
    company took it back, when it ended (recalled or closed; None while it has not), when it last received
    money and when money was last taken back from it (a reversal, refund or chargeback)."""

    account_ref: str
    balance: Decimal
    status: str
    recalled_at: dt.datetime | None
    closed_at: dt.datetime | None = None
    last_paid_at: dt.datetime | None = None
    last_reversed_at: dt.datetime | None = None


def is_active(account: Standing) -> bool:
    """An account is an active obligation while something is left to pay, it is not closed (paid or settled)
    and the client company has not recalled it."""
    return account.recalled_at is None and account.status not in CLOSED and account.balance > 0


def active_accounts(accounts: Iterable[Standing]) -> list[str]:
    """The person's accounts that are still an active obligation, by reference."""
    return sorted(a.account_ref for a in accounts if is_active(a))


def ended_at(account: Standing) -> dt.datetime | None:
    """When the account stopped being an obligation: its recall, else its closure, unless money moved after that
    (a payment on a recalled or closed account, or a reversal, refund or chargeback taking one back: records the
    platform must keep): then the latest of them; None while it is active."""
    if is_active(account):
        return None
    end = account.recalled_at or account.closed_at
    if end is None:
        return None
    return max([end, *(at for at in (account.last_paid_at, account.last_reversed_at) if at is not None)])


def retention_due(accounts: Sequence[Standing], *, days_after_closure: int | None, now: dt.datetime) -> bool:
    """Whether the retention of the person's data has run out: retention is configured, the person has accounts,
    none is active, and the last one ended more than `days_after_closure` days before `now`. An account whose end
    is not known keeps the data (never erase on a guess)."""
    if days_after_closure is None or not accounts or active_accounts(accounts):
        return False
    ends = [ended_at(a) for a in accounts]
    if any(end is None for end in ends):
        return False
    last = max(end for end in ends if end is not None)
    return now - last > dt.timedelta(days=days_after_closure)


def erasure_complete(confirmed_by: Iterable[str], erasing_services: Iterable[str]) -> bool:
    """Every service that holds a copy of the person's data confirmed it erased it."""
    return set(erasing_services) <= set(confirmed_by)
