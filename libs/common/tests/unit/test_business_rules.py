"""The rules every service shares, each written once: an account's status, the promise window and the client
company's today."""

import ast
import datetime as dt
from decimal import Decimal

import pytest

from recaudo_common.accounts import account_status, is_open, ledger_status
from recaudo_common.clock import local_instant, local_today
from recaudo_common.events import ClientRegistered
from recaudo_common.money import after_discount
from recaudo_common.promises import DEFAULT_PROMISE_WINDOW_DAYS, latest_promise_date, within_promise_window
from recaudo_common.testing import REPOSITORY_ROOT

pytestmark = pytest.mark.unit
BOGOTA = "America/Bogota"  # UTC-5, no daylight saving


# ---------------------------------------------------------------- account status


@pytest.mark.parametrize(("balance", "settled", "expected"), [
    (Decimal("100.00"), False, "open"),
    (Decimal("0.01"), False, "open"),
    (Decimal("0"), False, "paid"),
    (Decimal("-5"), False, "paid"),  # an overpayment is credit, the account is paid
    (Decimal("0"), True, "settled"),
    (Decimal("-5"), True, "settled"),  # paid after a settlement: still settled, the rest is credit
])
def test_ledger_status_from_balance_and_settlement(balance: Decimal, settled: bool, expected: str) -> None:
    assert ledger_status(balance=balance, settled=settled) == expected


@pytest.mark.parametrize("ledger", ["open", "paid", "settled"])
def test_a_recalled_account_stays_recalled_whatever_its_ledger(ledger: str) -> None:
    assert account_status(ledger, recalled=True) == "recalled"
    assert account_status(ledger, recalled=False) == ledger


def test_an_unknown_ledger_status_is_refused_not_passed_on() -> None:
    with pytest.raises(ValueError, match="unknown ledger status"):
        account_status("active", recalled=False)


def test_only_an_open_account_is_worked() -> None:
    assert [s for s in ("open", "paid", "settled", "recalled") if is_open(s)] == ["open"]


# ---------------------------------------------------------------- the client company's today


def test_local_today_is_the_client_companys_date_not_utcs() -> None:
    late_evening_in_bogota = dt.datetime(2026, 3, 1, 3, 30, tzinfo=dt.UTC)  # 22:30 on 28 February there
    assert local_today(BOGOTA, late_evening_in_bogota) == dt.date(2026, 2, 28)
    assert local_today("UTC", late_evening_in_bogota) == dt.date(2026, 3, 1)
    assert local_today("Asia/Tokyo", dt.datetime(2026, 2, 28, 15, 0, tzinfo=dt.UTC)) == dt.date(2026, 3, 1)


def test_local_today_at_the_stroke_of_midnight() -> None:
    assert local_today(BOGOTA, dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.UTC)) == dt.date(2026, 3, 1)
    assert local_today(BOGOTA, dt.datetime(2026, 3, 1, 4, 59, 59, 999999, tzinfo=dt.UTC)) == dt.date(2026, 2, 28)


def test_local_today_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_today(BOGOTA, dt.datetime(2026, 3, 1, 12, 0))


def test_local_instant_is_that_wall_clock_time_in_the_client_companys_zone() -> None:
    assert local_instant(dt.date(2026, 3, 1), BOGOTA) == dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.UTC)
    assert local_instant(dt.date(2026, 3, 1), BOGOTA, dt.time(12)) == dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)


# ---------------------------------------------------------------- the promise window

TODAY = dt.date(2026, 3, 10)


def test_the_default_window_is_30_days_both_ends_included() -> None:
    assert DEFAULT_PROMISE_WINDOW_DAYS == 30
    assert within_promise_window(TODAY, today=TODAY, window_days=None)
    assert within_promise_window(TODAY + dt.timedelta(days=30), today=TODAY, window_days=None)
    assert not within_promise_window(TODAY + dt.timedelta(days=31), today=TODAY, window_days=None)
    assert not within_promise_window(TODAY - dt.timedelta(days=1), today=TODAY, window_days=None)
    assert latest_promise_date(TODAY, None) == dt.date(2026, 4, 9)


@pytest.mark.parametrize(("window", "last_ok"), [(7, 7), (30, 30), (90, 90), (1, 1)])
def test_a_client_companys_own_window(window: int, last_ok: int) -> None:
    assert within_promise_window(TODAY + dt.timedelta(days=last_ok), today=TODAY, window_days=window)
    assert not within_promise_window(TODAY + dt.timedelta(days=last_ok + 1), today=TODAY, window_days=window)
    assert latest_promise_date(TODAY, window) == TODAY + dt.timedelta(days=window)


def test_the_window_travels_with_the_client_company_and_older_events_read_as_the_default() -> None:
    base = {"slug": "banco-andino", "name": "Banco Andino", "country": "CO", "currency": "COP",
            "timezone": BOGOTA, "locale": "es-CO", "default_authorised_channels": ["sms"]}
    assert ClientRegistered.model_validate(base).promise_window_days == 30  # an event written before the field
    assert ClientRegistered.model_validate({**base, "promise_window_days": 45}).promise_window_days == 45
    for refused in (0, 366):
        with pytest.raises(ValueError, match="promise_window_days"):
            ClientRegistered.model_validate({**base, "promise_window_days": refused})


# ---------------------------------------------------------------- one home each


def _calls_in(root: str, attribute_names: set[str]) -> list[str]:
    found = []
    for path in (REPOSITORY_ROOT / root).rglob("src/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in attribute_names:
                found.append(f"{path.relative_to(REPOSITORY_ROOT)}:{node.lineno}")
    return found


def test_no_domain_reads_the_clock() -> None:
    offenders = [c for c in _calls_in("services", {"now", "today", "utcnow"}) if "/domain/" in c]
    assert offenders == []


def test_the_client_companys_today_is_computed_only_by_the_clock_module() -> None:
    """`x.astimezone(ZoneInfo(tz)).date()` written again somewhere would be a second `today` (contact law
    compares local times of contacts, and best time the local slots contacts fall in, which is another thing,
    and stays in their domain)."""
    offenders = []
    for path in (REPOSITORY_ROOT / "services").rglob("src/**/*.py"):
        source = path.read_text(encoding="utf-8")
        if "ZoneInfo(" in source and ".date()" in source and path.name not in {"contact_law.py", "best_time.py"}:
            offenders.append(str(path.relative_to(REPOSITORY_ROOT)))
    assert offenders == []


# ---------------------------------------------------------------- a settlement at a discount


@pytest.mark.parametrize(("balance", "pct", "expected"), [
    (Decimal("1500000"), Decimal("20"), Decimal("1200000.00")),
    (Decimal("1000.00"), Decimal("0"), Decimal("1000.00")),
    (Decimal("1000.00"), Decimal("100"), Decimal("0.00")),
    (Decimal("333.33"), Decimal("12.5"), Decimal("291.66")),  # 291.66375 -> to the cent
    (Decimal("0.05"), Decimal("50"), Decimal("0.02")),  # 0.025, half-even
])
def test_after_discount_is_to_the_cent(balance: Decimal, pct: Decimal, expected: Decimal) -> None:
    assert after_discount(balance, pct) == expected


def test_the_offer_shown_and_the_least_settlement_accepted_are_the_same_amount() -> None:
    """Outreach offers a settlement at the treatment's discount and payments accepts one down to the client
    company's largest discount: at the same percentage both must name the same cent, or a debtor accepting the
    offer shown would be refused."""
    for cents in range(1, 100_000, 7919):
        balance = Decimal(cents) / 100 + Decimal("123456")
        for pct in (Decimal("12.5"), Decimal("33.33"), Decimal("40")):
            offered = after_discount(balance, pct)
            assert offered == (balance * (1 - pct / 100)).quantize(Decimal("0.01"))  # payments' former formula
