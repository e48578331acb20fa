"""The rules of a person's data: which accounts are an active obligation (the legal basis to keep it), when
retention has run out, when an erasure is complete."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from recaudo_common.events.privacy import ERASING_SERVICES
from reporting.domain.privacy import Standing, active_accounts, ended_at, erasure_complete, is_active, retention_due

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def account(ref: str = "A-1", balance: str = "1000", status: str = "open", recalled_days_ago: int | None = None,
            closed_days_ago: int | None = None) -> Standing:
    return Standing(ref, Decimal(balance), status,
                    None if recalled_days_ago is None else NOW - dt.timedelta(days=recalled_days_ago),
                    None if closed_days_ago is None else NOW - dt.timedelta(days=closed_days_ago))


def test_an_open_balance_not_recalled_is_an_active_obligation() -> None:
    assert is_active(account())
    assert active_accounts([account("A-2"), account("A-1"), account("A-3", balance="0", status="paid")]) == [
        "A-1", "A-2"]


@pytest.mark.parametrize("standing", [
    account(recalled_days_ago=1),  # the client company took it back, even with a balance
    account(balance="0", status="paid", closed_days_ago=1),
    account(balance="400", status="settled", closed_days_ago=1),  # a settlement closes it with a balance left
    account(balance="-50", status="paid", closed_days_ago=1),  # overpaid: a credit, no obligation
    account(balance="0", status="open"),  # nothing left to pay
], ids=["recalled", "paid", "settled", "credit", "nothing_left"])
def test_recalled_closed_or_paid_accounts_are_not_active(standing: Standing) -> None:
    assert not is_active(standing)
    assert active_accounts([standing]) == []


def test_an_account_ends_at_its_recall_else_its_closure_and_an_active_one_has_not_ended() -> None:
    assert ended_at(account()) is None
    assert ended_at(account(recalled_days_ago=3, closed_days_ago=9)) == NOW - dt.timedelta(days=3)
    assert ended_at(account(balance="0", status="paid", closed_days_ago=9)) == NOW - dt.timedelta(days=9)


def test_money_received_after_an_account_ended_moves_its_end_to_that_payment() -> None:
    """The platform must keep the records of money it received: a payment on a recalled (or closed) account starts
    the retention clock again from that payment, never from the recall before it."""
    def paid(days_ago: int, **kwargs: object) -> Standing:
        return replace(account(**kwargs), last_paid_at=NOW - dt.timedelta(days=days_ago))  # type: ignore[arg-type]

    assert ended_at(paid(5, recalled_days_ago=400)) == NOW - dt.timedelta(days=5)
    assert ended_at(paid(2, balance="-50", status="paid", closed_days_ago=9)) == NOW - dt.timedelta(days=2)
    assert ended_at(paid(500, recalled_days_ago=400)) == NOW - dt.timedelta(days=400)  # paid before the recall
    assert not retention_due([paid(5, recalled_days_ago=400)], days_after_closure=30, now=NOW)
    assert retention_due([paid(31, recalled_days_ago=400)], days_after_closure=30, now=NOW)
    assert ended_at(paid(1)) is None  # an active account has not ended, whatever it received


def test_money_taken_back_after_an_account_ended_moves_its_end_to_that_reversal() -> None:
    """A reversal, refund or chargeback is money moving too: one after a recall (or a closure) starts the retention
    clock again from that reversal, like a payment; the later of the two counts."""
    def moved(paid_days_ago: int | None, reversed_days_ago: int, **kwargs: object) -> Standing:
        return replace(account(**kwargs),  # type: ignore[arg-type]
                       last_paid_at=None if paid_days_ago is None else NOW - dt.timedelta(days=paid_days_ago),
                       last_reversed_at=NOW - dt.timedelta(days=reversed_days_ago))

    assert ended_at(moved(60, 5, recalled_days_ago=40)) == NOW - dt.timedelta(days=5)
    assert ended_at(moved(None, 5, recalled_days_ago=40)) == NOW - dt.timedelta(days=5)
    assert ended_at(moved(3, 5, recalled_days_ago=40)) == NOW - dt.timedelta(days=3)  # the payment came later
    assert ended_at(moved(90, 80, recalled_days_ago=40)) == NOW - dt.timedelta(days=40)  # both before the recall
    assert not retention_due([moved(60, 5, recalled_days_ago=40)], days_after_closure=30, now=NOW)
    assert retention_due([moved(60, 31, recalled_days_ago=40)], days_after_closure=30, now=NOW)


def test_retention_runs_out_only_after_the_configured_days_since_the_last_account_ended() -> None:
    ended = [account("A-1", recalled_days_ago=40), account("A-2", balance="0", status="paid", closed_days_ago=31)]
    assert retention_due(ended, days_after_closure=30, now=NOW)
    assert not retention_due(ended, days_after_closure=31, now=NOW)  # more than the days, not as many
    assert not retention_due(ended, days_after_closure=60, now=NOW)
    assert retention_due(ended, days_after_closure=0, now=NOW)


def test_retention_keeps_the_data_while_any_account_is_active_or_none_is_configured() -> None:
    assert not retention_due([account("A-1", recalled_days_ago=400), account("A-2")], days_after_closure=30, now=NOW)
    assert not retention_due([account("A-1", recalled_days_ago=400)], days_after_closure=None, now=NOW)
    assert not retention_due([], days_after_closure=0, now=NOW)


def test_retention_never_erases_an_account_whose_end_is_unknown() -> None:
    assert not retention_due([account(balance="0", status="paid")], days_after_closure=0, now=NOW)


def test_an_erasure_completes_once_every_service_holding_a_copy_confirmed() -> None:
    assert ERASING_SERVICES == ("ingest", "outreach", "payments")
    assert not erasure_complete([], ERASING_SERVICES)
    assert not erasure_complete(["ingest", "payments"], ERASING_SERVICES)
    assert not erasure_complete(["ingest", "ingest", "outreach"], ERASING_SERVICES)
    assert erasure_complete(["payments", "outreach", "ingest"], ERASING_SERVICES)
    assert erasure_complete(["payments", "outreach", "ingest", "segmentation"], ERASING_SERVICES)
