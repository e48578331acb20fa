"""The ledger's arithmetic and payment matching."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain.bank_files import dated_after_today
from payments.domain.ledger import PAID_AT_TOLERANCE, after_payment, balance, entry, paid_in_future
from payments.domain.matching import match_payment

pytestmark = pytest.mark.unit


def test_partial_full_and_over_payment() -> None:
    assert after_payment(Decimal("100.00"), Decimal("40.00"), "open").status == "open"
    paid = after_payment(Decimal("100.00"), Decimal("100.00"), "open")
    assert (paid.balance, paid.credit, paid.status) == (Decimal("0.00"), Decimal("0"), "paid")
    over = after_payment(Decimal("100.00"), Decimal("130.50"), "open")
    assert (over.balance, over.credit, over.status) == (Decimal("-30.50"), Decimal("30.50"), "paid")


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)


@given(placed=amounts, adjustments=st.lists(st.decimals(min_value=-1000, max_value=1000, places=2), max_size=5),
       payments=st.lists(amounts, max_size=10), reversed_count=st.integers(0, 10))
def test_balance_is_placed_plus_adjustments_minus_payments_plus_reversals(
        placed: Decimal, adjustments: list[Decimal], payments: list[Decimal], reversed_count: int) -> None:
    reversals = payments[:reversed_count]
    entries = [entry("placement", placed), *(entry("adjustment", a) for a in adjustments),
               *(entry("payment", p) for p in payments), *(entry("reversal", r) for r in reversals)]
    assert balance(entries) == placed + sum(adjustments, Decimal(0)) - sum(payments, Decimal(0)) + sum(
        reversals, Decimal(0))


def test_matching_order() -> None:
    direct = match_payment(account_ref="A", known_account=True, debtor_id=None, debtor_open_accounts=[])
    assert (direct.account_ref, direct.reason) == ("A", "account_ref")
    by_debtor = match_payment(account_ref=None, known_account=False, debtor_id="1", debtor_open_accounts=["B"])
    assert (by_debtor.account_ref, by_debtor.reason) == ("B", "debtor_id")
    several = match_payment(account_ref=None, known_account=False, debtor_id="1", debtor_open_accounts=["B", "C"])
    assert (several.account_ref, several.reason) == (None, "debtor_has_several_open_accounts")
    unknown = match_payment(account_ref="Z", known_account=False, debtor_id=None, debtor_open_accounts=[])
    assert (unknown.account_ref, unknown.reason) == (None, "unknown_account_ref")


def test_webhook_signatures() -> None:
    import datetime as dt

    from recaudo_common.webhook_signatures import sign, signature_problem

    now = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
    body = b'{"payment_id": "p-1"}'
    good = sign(body, "new-secret", now)
    assert signature_problem(good, body, ["old-secret", "new-secret"], now=now) is None  # rotation: either works
    assert signature_problem(good, body + b" ", ["new-secret"], now=now) == "bad_signature"
    assert signature_problem(good, body, ["other"], now=now) == "bad_signature"
    assert signature_problem(None, body, ["new-secret"], now=now) == "missing_signature"
    assert signature_problem("v1=abc", body, ["new-secret"], now=now) == "malformed_signature"
    assert signature_problem(good, body, ["new-secret"], now=now + dt.timedelta(minutes=5, seconds=1)) == \
        "stale_signature"
    assert signature_problem(good, body, ["new-secret"], now=now + dt.timedelta(minutes=5)) is None
    assert signature_problem(good, body, [], now=now) == "unknown_gateway"


def test_a_promise_is_kept_to_the_end_of_its_grace_day_and_broken_one_minute_after() -> None:
    import datetime as dt
    import zoneinfo

    from payments.domain.promises import verdict
    from recaudo_common.promises import deadline

    bogota = zoneinfo.ZoneInfo("America/Bogota")
    due = dt.date(2026, 4, 10)
    assert deadline(due, "America/Bogota") == dt.datetime(2026, 4, 12, 0, 0, tzinfo=bogota)
    last_minute = dt.datetime(2026, 4, 11, 23, 59, tzinfo=bogota)
    one_after = dt.datetime(2026, 4, 12, 0, 1, tzinfo=bogota)
    args = {"amount": Decimal("100"), "due_date": due, "timezone": "America/Bogota"}
    assert verdict(paid=Decimal("60"), now=last_minute, **args) == "pending"
    assert verdict(paid=Decimal("100"), now=last_minute, **args) == "kept"
    assert verdict(paid=Decimal("60"), now=one_after, **args) == "broken"


def test_a_reversal_takes_what_it_asks_up_to_what_remains() -> None:
    from payments.domain.reversals import ReversalRefusedError, after_reversal, reversal_amount

    assert reversal_amount(requested=None, paid=Decimal("100.00"), reversed_so_far=Decimal("30.25")) == \
        Decimal("69.75")
    assert reversal_amount(requested=Decimal("69.75"), paid=Decimal("100.00"), reversed_so_far=Decimal("30.25")) \
        == Decimal("69.75")
    for requested, code in ((Decimal("69.76"), "reversal_exceeds_payment"), (Decimal("0"), "invalid_amount"),
                            (Decimal("-1"), "invalid_amount"), (Decimal("1.005"), "invalid_amount")):
        with pytest.raises(ReversalRefusedError) as refused:
            reversal_amount(requested=requested, paid=Decimal("100.00"), reversed_so_far=Decimal("30.25"))
        assert refused.value.code == code
    assert after_reversal(Decimal("0"), Decimal("0.01"), "paid").status == "open"
    assert after_reversal(Decimal("-50"), Decimal("20"), "paid").status == "paid"  # still a credit


@given(paid=amounts, cuts=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
                                   max_size=8))
def test_partial_reversals_never_pass_the_payment_and_add_up_exactly(paid: Decimal, cuts: list[Decimal]) -> None:
    from payments.domain.reversals import ReversalRefusedError, reversal_amount

    reversed_so_far = Decimal("0")
    for cut in cuts:
        try:
            reversed_so_far += reversal_amount(requested=cut, paid=paid, reversed_so_far=reversed_so_far)
        except ReversalRefusedError:
            assert cut > paid - reversed_so_far
    reversed_so_far += reversal_amount(requested=None, paid=paid, reversed_so_far=reversed_so_far)
    assert reversed_so_far == paid


@pytest.mark.parametrize(("amount", "locale", "problem"), [
    ("150.000", "es-CO", None), ("150.000,50", "es-CO", None), ("COP 150.000", "es-CO", None),
    ("1.234,567", "es-CO", "invalid_amount"),  # a fraction of a cent would be rounded away by the ledger
    ("0,001", "es-CO", "invalid_amount"),  # below a cent: 0.00 once stored, which would fail the whole file
    ("0", "es-CO", "invalid_amount"), ("1.000.000.000.000", "es-CO", "invalid_amount"),
    ("USD 150", "es-CO", "invalid_amount"), ("150.00", "es-CO", "invalid_amount"),
    ("150.000 COP", "es-CO", None), ("COP$ 150.000", "es-CO", None), ("$150.000 COP", "es-CO", None),
    ("150.000 USD", "es-CO", "invalid_amount"), ("$150.000 USD", "es-CO", "invalid_amount"),
])
def test_a_bank_rows_amount_is_to_the_cent_in_the_client_companys_currency(
        amount: str, locale: str, problem: str | None) -> None:
    from payments.domain.bank_files import bank_columns, check_bank_row

    columns, _ = bank_columns(["Referencia", "Valor", "Fecha"])
    row, code = check_bank_row(["A-1", amount, "15/03/2026"], columns, 2, locale, "America/Bogota", "COP")
    assert code == problem
    assert (row is None) == (problem is not None)


@pytest.mark.parametrize(("written", "day"), [
    ("15/03/2026", dt.date(2026, 3, 15)), ("15-mar-26", dt.date(2026, 3, 15)), ("15/03/26", dt.date(2026, 3, 15)),
    ("2026/03/15", dt.date(2026, 3, 15)), ("15.03.2026", dt.date(2026, 3, 15)), ("15 de marzo de 2026", dt.date(2026, 3, 15)),
    ("30-feb-26", None), ("mar-26", None), ("15-mzo-26", None),
])
def test_a_bank_rows_date_is_read_as_a_spanish_locale_writes_it(written: str, day: dt.date | None) -> None:
    from payments.domain.bank_files import bank_columns, check_bank_row

    columns, _ = bank_columns(["Referencia", "Valor", "Fecha"])
    row, code = check_bank_row(["A-1", "150.000", written], columns, 2, "es-CO", "America/Bogota", "COP")
    if day is None:
        assert row is None and code == "invalid_date"
    else:
        assert code is None and row is not None
        assert row.paid_at == dt.datetime.combine(day, dt.time(12), ZoneInfo("America/Bogota"))


def test_a_payment_dated_after_it_is_recorded_is_in_the_future_beyond_the_clocks_tolerance() -> None:
    now = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
    assert not paid_in_future(now - dt.timedelta(days=3), now)
    assert not paid_in_future(now + PAID_AT_TOLERANCE, now)  # a payer's clock a few minutes fast
    assert paid_in_future(now + PAID_AT_TOLERANCE + dt.timedelta(seconds=1), now)
    # A bank line says its day only (booked at noon): today's is never in the future, tomorrow's is. 31 March 23:30
    # in Bogotá is already 1 April in UTC: the client company's calendar decides.
    bogota = "America/Bogota"
    evening = dt.datetime(2026, 4, 1, 4, 30, tzinfo=dt.UTC)
    assert not dated_after_today(dt.datetime(2026, 3, 31, 17, 0, tzinfo=dt.UTC), bogota, evening)
    assert dated_after_today(dt.datetime(2026, 4, 1, 17, 0, tzinfo=dt.UTC), bogota, evening)
