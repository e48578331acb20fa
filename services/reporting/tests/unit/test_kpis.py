"""KPI definitions."""

from decimal import Decimal

import pytest

from reporting.domain.kpis import Facts, recovery_rate, roll_rates, summed

pytestmark = pytest.mark.unit


def test_recovery_rate_is_a_fraction_of_the_placed_balance() -> None:
    assert recovery_rate(Decimal("250.00"), Decimal("1000.00")) == Decimal("0.25")
    assert recovery_rate(Decimal("1"), Decimal("3")) == Decimal("0.333333")
    assert recovery_rate(Decimal("10"), Decimal("0")) == Decimal("0")


def test_groups_that_split_the_facts_add_up_to_the_totals() -> None:
    a = Facts(accounts_placed=2, placed_balance=Decimal("100.50"), recovered=Decimal("10"), accounts_contacted=1)
    b = Facts(accounts_placed=1, placed_balance=Decimal("0.25"), outstanding=Decimal("3"), accounts_contacted=1)
    assert summed([a, b]) == Facts(accounts_placed=3, placed_balance=Decimal("100.75"), recovered=Decimal("10"),
                                   outstanding=Decimal("3"), accounts_contacted=2)
    assert summed([]) == Facts()


Move = tuple[str, str | None, int | None, str | None, int | None]


def moves(accounts: list[Move]) -> list[tuple[str, tuple[int, ...]]]:
    """Each account as (ref, state at January's end, its bucket's first day, the same at February's end), read as
    the roll-rate rows: (bucket, (accounts, rolled_forward, stayed, rolled_back, cured, recalled))."""
    states: list[tuple[int, str, str | None, int | None]] = []
    for ref, before, before_low, after, after_low in accounts:
        states += [(1, ref, before, before_low), (2, ref, after, after_low)]
    return [(r.bucket, (r.accounts, r.rolled_forward, r.stayed, r.rolled_back, r.cured, r.recalled))
            for r in roll_rates(["2026-01", "2026-02"], states)]


def test_own_buckets_go_by_their_first_day_past_due_and_the_current_one_cures() -> None:
    assert moves([
        ("A", "Tramo 1-30", 1, "Al día", -365),  # cured: Al día starts before 0 days past due
        ("B", "Tramo 1-30", 1, "Tramo 31-60", 31),
        ("C", "Castigo 180+", 180, "Tramo 31-60", 31),  # back, though "Tramo" > "Castigo"
        ("D", "Tramo 61-179", 61, "Castigo 180+", 180),  # forward, though "Castigo" < "Tramo"
        ("E", "Al día", -365, "Tramo 1-30", 1),  # current at the start: in no row
    ]) == [("Tramo 1-30", (2, 1, 0, 0, 1, 0)), ("Tramo 61-179", (1, 1, 0, 0, 0, 0)),
           ("Castigo 180+", (1, 0, 0, 1, 0, 0))]


def test_a_first_bucket_past_0_days_is_the_current_one() -> None:
    # "0-30" (-365..30) holds 0 days past due: its accounts are current, and reaching it from 31-60 cures.
    assert moves([("A", "0-30", -365, "31-60", 31), ("B", "31-60", 31, "0-30", -365),
                  ("C", "31-60", 31, "31-60", 31)]) == [("31-60", (2, 0, 1, 0, 1, 0))]


def test_history_without_bounds_reads_the_default_labels_as_before() -> None:
    # account.segmented v1 said no bounds: the default set's labels start with their first day, and `0` cures.
    assert moves([("A", "1-30", None, "0", None), ("B", "121-180", None, "91-120", None),
                  ("C", "91-120", None, "121-180", None), ("D", "31-60", None, "paid", None),
                  ("E", "31-60", None, "recalled", None)]) == [
        ("1-30", (1, 0, 0, 0, 1, 0)), ("31-60", (2, 0, 0, 0, 1, 1)), ("91-120", (1, 1, 0, 0, 0, 0)),
        ("121-180", (1, 0, 0, 1, 0, 0))]


def test_a_label_given_new_bounds_by_a_new_set_is_compared_by_its_days() -> None:
    # "Mora temprana" 1-30 became "Tramo 1-30" with the same first day: the account stayed where it was.
    assert moves([("A", "Mora temprana", 1, "Tramo 1-30", 1)]) == [("Mora temprana", (1, 0, 1, 0, 0, 0))]



def test_a_written_off_account_has_left_its_bucket_for_the_loss() -> None:
    rows = roll_rates(["2026-01", "2026-02"], [
        (1, "A", "91-120", 91), (2, "A", "written_off", None),  # written off: to the loss, in the roll rate
        (1, "B", "91-120", 91), (2, "B", "91-120", 91),  # stayed
        (1, "C", "91-120", 91), (2, "C", "paid", None),  # cured
        (1, "D", "written_off", None), (2, "D", "paid", None),  # written off at the start: in no bucket
    ])
    assert [(r.bucket, r.accounts, r.stayed, r.cured, r.written_off, r.rolled_forward) for r in rows] == [
        ("91-120", 3, 1, 1, 1, 0)]
    assert (rows[0].roll_rate, rows[0].cure_rate) == (Decimal("0.333333"), Decimal("0.333333"))


def test_the_ptp_rate_is_a_share_of_right_party_contacts_whatever_the_instalments() -> None:
    from reporting.domain.kpis import rates

    # One call, a promise of a six-instalment plan: seven promises made, one right-party contact, which ended in one.
    facts = Facts(right_party_contacts=1, right_party_promises=1, promises_made=7)
    assert rates(facts).ptp_rate == Decimal(1)
    assert rates(Facts(right_party_contacts=4, right_party_promises=1, promises_made=9)).ptp_rate == Decimal("0.25")
