"""A portfolio's amounts in the client company's currency's minor units: a Chilean client company's balance written
with decimals (CLP has none) is refused, not rounded; a number cell's is rounded to whole pesos; the optional amounts
warn the same way. Every other currency stays to the cent."""

import datetime as dt
from decimal import Decimal

import pytest

from ingest.domain.issue_labels import spanish_detail
from ingest.domain.portfolio import RowContext, check_row

pytestmark = pytest.mark.unit
CL = RowContext(locale="es-CL", as_of=dt.date(2026, 3, 31), country="CL", currency="CLP",
                default_channels=("sms", "email"))


def _row(**cells: str | Decimal) -> dict[str, list[str | Decimal]]:
    values: dict[str, str | Decimal] = {"account_ref": "A-1", "debtor_id": "12345678-5", "full_name": "Ana",
                                        "balance": "1.500.000", "days_past_due": "45"}
    return {k: [v] for k, v in (values | cells).items()}


@pytest.mark.parametrize("balance", ["1.500,50", "0,5", "$ 1.500,01", "1.500,000001"])
def test_a_clp_balance_written_with_decimals_is_refused(balance: str) -> None:
    account, rejections, _ = check_row(_row(balance=balance), {}, 2, CL)
    assert account is None
    assert [(r.field, r.code, r.message) for r in rejections] == [
        ("balance", "invalid_balance", "the balance is written with decimals that are not 0, and CLP has none; "
                                       "amounts in CLP are whole")]
    issue = rejections[0]
    assert spanish_detail(issue.code, issue.field, issue.params) == (
        "El saldo tiene decimales que no son 0 y el CLP no tiene decimales; los montos en CLP son enteros")


@pytest.mark.parametrize(("balance", "kept"), [
    ("1.500", "1500"), ("1.500,00", "1500.00"), ("1.500,000", "1500.000"),  # whole pesos, as written
    (Decimal("1500.5"), "1501"), (Decimal("1500.49"), "1500"), (Decimal("1190.47619047619"), "1190"),
])
def test_a_clp_balance_is_kept_in_whole_pesos(balance: str | Decimal, kept: str) -> None:
    account, rejections, _ = check_row(_row(balance=balance), {}, 2, CL)
    assert account is not None and not rejections and str(account.balance) == kept


def test_a_clp_number_cell_below_half_a_peso_is_no_balance() -> None:
    account, rejections, _ = check_row(_row(balance=Decimal("0.4")), {}, 2, CL)
    assert account is None and [(r.field, r.code) for r in rejections] == [("balance", "invalid_balance")]


def test_clp_optional_amounts_with_decimals_are_warned_and_a_numbers_rounded() -> None:
    account, rejections, warnings = check_row(
        _row(original_amount="2.000.000,50", last_payment_amount=Decimal("50000.5")), {}, 2, CL)
    assert account is not None and not rejections
    assert (account.original_amount, account.last_payment_amount) == (None, Decimal("50001"))
    assert [(w.field, w.code, w.message) for w in warnings] == [
        ("original_amount", "invalid_original_amount",
         "the original amount is written with decimals that are not 0, and CLP has none; dropped")]
    issue = warnings[0]
    assert spanish_detail(issue.code, issue.field, issue.params) == (
        "El monto original tiene decimales que no son 0 y el CLP no tiene decimales; se descartó")


def test_a_cop_balance_keeps_its_cents() -> None:
    cop = RowContext(locale="es-CO", as_of=dt.date(2026, 3, 31), country="CO", currency="COP",
                     default_channels=("sms",))
    account, rejections, _ = check_row(_row(balance="1.500,50", debtor_id="1020304050"), {}, 2, cop)
    assert account is not None and not rejections and account.balance == Decimal("1500.50")
