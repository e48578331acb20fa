"""Every row issue's detail in Spanish, built from its code and parameters as its English message is: for each
variant the rules produce, the figures the English gives are in the Spanish too, and no English is left."""

import dataclasses
import datetime as dt
import re
from decimal import Decimal

import pytest

from ingest.domain.issue_labels import DETAILS, ISSUE_LABELS, meaning_of, spanish_detail
from ingest.domain.portfolio import Issue, RowContext, check_row, too_many_fields, unreadable_line
from recaudo_common.files import UnreadableLine

pytestmark = pytest.mark.unit
CTX = RowContext(locale="es-CO", as_of=dt.date(2026, 3, 31), country="CO", currency="COP",
                 default_channels=("sms", "email"))
# Variants of a row, each giving one or more issues (the base row is accepted without any).
VARIANTS: list[dict[str, str | Decimal]] = [
    {"account_ref": " "}, {"debtor_id": ""}, {"debtor_id": "-.-"}, {"full_name": ""},
    {"balance": ""}, {"balance": "1234567.89"}, {"balance": "100,004"}, {"balance": "0"},
    {"days_past_due": "", "due_date": ""}, {"due_date": "31/02/2026"}, {"due_date": "01/01/0001"},
    {"days_past_due": "x"}, {"currency": "USD"}, {"balance": "USD 1.500"}, {"full_name": "x" * 201},
    {"due_date": "01/03/2026", "days_past_due": "10"}, {"phones": "123"}, {"email": "no-es-correo"},
    {"email": "ana@correo.co; ana.gomez@empresa.co"},
    {"phones": " / ".join(f"300{n:07d}" for n in range(1234560, 1234572))},
    {"original_amount": "dos"}, {"original_amount": "-5"}, {"last_payment_amount": "5,001"},
    {"last_payment_date": "ayer"}, {"authorised_channels": "sms, carta"}, {"authorised_channels": "carta, voz"},
]
ENGLISH = re.compile(r"\b(the|is|not|dropped|wins|blank|number|kept|file|channels?)\b")


def _issues() -> list[Issue]:
    found: list[Issue] = []
    for variant in VARIANTS:
        values = {"account_ref": "A-1", "debtor_id": "1020304050", "full_name": "Ana Gómez",
                  "balance": "1.500.000", "days_past_due": "45"} | variant
        _, rejections, warnings = check_row({k: [v] for k, v in values.items()}, {"Obs": "x" * 1001}
                                            if variant == {"full_name": "x" * 201} else {}, 2, CTX)
        assert rejections or warnings, variant
        found += rejections + warnings
    slid = too_many_fields(3, ["A-1", "1", "Gómez", "Ana", "1.000", "5"], 5)
    unread = unreadable_line(5, [UnreadableLine('{"cuenta": "A-1",}')])
    assert slid is not None and unread is not None
    return [*found, slid, unread, Issue(4, "account_ref", "duplicate_account_ref", "...")]


def test_every_code_has_a_spanish_detail() -> None:
    assert set(DETAILS) == set(ISSUE_LABELS)
    assert {i.code for i in _issues()} == set(ISSUE_LABELS)  # every code is produced by some variant above


@pytest.mark.parametrize("issue", _issues(), ids=lambda i: f"{i.code}:{i.message[:40]}")
def test_each_issue_is_said_in_spanish_with_the_figures_of_its_message(issue: Issue) -> None:
    said = spanish_detail(issue.code, issue.field, issue.params)
    assert said != meaning_of(issue.code) and not said[0].islower(), said
    assert not ENGLISH.search(said.replace("es-CO", "")), said
    assert re.findall(r"-?\d+", issue.message) == re.findall(r"-?\d+", said), (issue.message, said)


def test_an_issue_kept_before_its_parameters_is_told_by_its_meaning_where_its_detail_needs_them() -> None:
    assert spanish_detail("invalid_balance", "balance", {}) == "Saldo no válido"
    assert spanish_detail("too_many_fields", "column_6", {}) == "La fila tiene más campos que el encabezado"
    assert spanish_detail("missing_name", "full_name", {}) == "El nombre del deudor está en blanco"
    assert spanish_detail("some_later_code", "x", {}) == "some_later_code"


def test_some_details_word_for_word() -> None:
    by_message = {i.message: spanish_detail(i.code, i.field, i.params) for i in _issues()}
    assert by_message["the balance is not a number in es-CO"] == "El saldo no es un número como se escribe en es-CO"
    assert by_message["the row has 6 fields and the header 5"] == "La fila tiene 6 campos y el encabezado 5"
    assert by_message["due date gives 30 days past due, the file says 10; due date wins"] == \
        "La fecha de vencimiento da 30 días de mora y el archivo dice 10; vale la fecha de vencimiento"
    assert by_message["the amount is in USD, not the client company's currency COP"] == \
        "El saldo está en USD, no en la moneda del cliente, COP"
    ctx = dataclasses.replace(CTX, locale="es-MX", currency="MXN")
    _, rejections, _ = check_row({"account_ref": ["A"], "debtor_id": ["1"], "full_name": ["Ana"],
                                  "balance": ["1.500,00"], "days_past_due": ["5"]}, {}, 2, ctx)
    assert spanish_detail(rejections[0].code, rejections[0].field, rejections[0].params) == \
        "El saldo no es un número como se escribe en es-MX"
