"""The write-off rule (#22): what may be written off, and a payment after a write-off recovering it."""

from decimal import Decimal

import pytest

from payments.domain.ledger import after_payment
from payments.domain.write_offs import WriteOffRefusedError, recovery, reverse_write_off, unrecovery, write_off
from recaudo_common.accounts import CLOSED, account_status, is_open, ledger_status

pytestmark = pytest.mark.unit
D = Decimal


def test_the_whole_balance_by_default_closes_the_account_as_written_off() -> None:
    after = write_off(balance=D("100000.00"), status="open", recalled=False, written_off=D(0), requested=None)
    assert (after.amount, after.balance, after.written_off, after.status) == (D("100000.00"), 0, D("100000.00"),
                                                                                 "written_off")
    assert "written_off" in CLOSED and not is_open(account_status("written_off", recalled=False))


def test_a_partial_write_off_leaves_the_rest_open() -> None:
    after = write_off(balance=D("100000.00"), status="open", recalled=False, written_off=D(0), requested=D("0.01"))
    assert (after.balance, after.written_off, after.status) == (D("99999.99"), D("0.01"), "open")


@pytest.mark.parametrize(("balance", "status", "recalled", "requested", "code", "conflict"), [
    (D(0), "paid", False, None, "account_not_open", True),
    (D(0), "settled", False, None, "account_not_open", True),
    (D(0), "written_off", False, None, "account_not_open", True),
    (D(-5), "paid", False, None, "account_not_open", True),  # a credit is never written off
    (D(100), "open", True, None, "account_recalled", True),
    (D(100), "open", False, D("100.01"), "write_off_exceeds_balance", False),
    (D(100), "open", False, D("0.001"), "invalid_amount", False),
    (D(100), "open", False, D(0), "invalid_amount", False),
])
def test_refusals(balance: Decimal, status: str, recalled: bool, requested: Decimal | None, code: str,
                  conflict: bool) -> None:
    with pytest.raises(WriteOffRefusedError) as refused:
        write_off(balance=balance, status=status, recalled=recalled, written_off=D(0),  # type: ignore[arg-type]
                  requested=requested)
    assert (refused.value.code, refused.value.conflict) == (code, conflict)


def test_a_payment_after_a_write_off_recovers_it_before_any_credit() -> None:
    # Written off 100000: a payment of 40000 recovers 40000, nothing is owed, still written off.
    first = recovery(balance=D(0), written_off=D(100000), amount=D(40000))
    assert (first.recovered, first.written_off) == (D(40000), D(60000))
    after = after_payment(D(0) + first.recovered, D(40000), "written_off", written_off=first.written_off)
    assert (after.balance, after.credit, after.status) == (0, 0, "written_off")
    # 70000 more: 60000 recovers the rest, 10000 is the debtor's credit, the account is paid.
    second = recovery(balance=D(0), written_off=D(60000), amount=D(70000))
    assert (second.recovered, second.written_off) == (D(60000), D(0))
    after = after_payment(second.recovered, D(70000), "written_off", written_off=second.written_off)
    assert (after.balance, after.credit, after.status) == (D(-10000), D(10000), "paid")


def test_after_a_partial_write_off_a_payment_pays_what_is_left_first() -> None:
    rest = recovery(balance=D(70000), written_off=D(30000), amount=D(80000))
    assert (rest.recovered, rest.written_off) == (D(10000), D(20000))
    assert recovery(balance=D(70000), written_off=D(30000), amount=D(5000)).recovered == 0
    assert recovery(balance=D(0), written_off=D(0), amount=D(5000)).recovered == 0  # no write-off: a credit


def test_the_status_rule() -> None:
    assert ledger_status(balance=D(0), settled=False, written_off=D(1)) == "written_off"
    assert ledger_status(balance=D(1), settled=False, written_off=D(1)) == "open"  # a reversal reopens it
    assert ledger_status(balance=D(0), settled=False) == "paid"
    assert account_status("written_off", recalled=True) == "recalled"


def test_a_reversal_of_a_recovery_writes_it_off_again_credit_first() -> None:
    # 70000 paid on 60000 written off: 60000 recovered, 10000 credit (balance -10000).
    assert unrecovery(balance=D(-10000), recovered=D(60000), amount=D(70000)) == D(60000)
    assert unrecovery(balance=D(-10000), recovered=D(60000), amount=D(10000)) == 0  # the credit only
    assert unrecovery(balance=D(-10000), recovered=D(60000), amount=D(25000)) == D(15000)
    assert unrecovery(balance=D(0), recovered=D(0), amount=D(5000)) == 0  # no recovery: owed again


def test_a_reversal_owes_again_what_was_not_recovered() -> None:
    after = reverse_write_off(balance=D(0), status="written_off", written_off=D(60000))
    assert (after.amount, after.balance, after.status) == (D(60000), D(60000), "open")
    partial = reverse_write_off(balance=D(70000), status="open", written_off=D(30000))
    assert (partial.balance, partial.status) == (D(100000), "open")
    for status, left, code in (("paid", D(0), "nothing_written_off"), ("settled", D(5), "account_not_open")):
        with pytest.raises(WriteOffRefusedError) as refused:
            reverse_write_off(balance=D(0), status=status, written_off=left)  # type: ignore[arg-type]
        assert refused.value.code == code
