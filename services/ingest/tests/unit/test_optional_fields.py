"""Ingest's rules for a row's optional fields: one that cannot be read is dropped with a warning that names it, and
the row is still accepted."""

import datetime as dt
from decimal import Decimal

import pytest

from ingest.domain.portfolio import RowContext, check_row

pytestmark = pytest.mark.unit
CTX = RowContext(locale="es-CO", as_of=dt.date(2026, 3, 31), country="CO", currency="COP",
                 default_channels=("sms", "email"))


def _row(**values: str) -> dict[str, list[str | Decimal | dt.date]]:
    base = {"account_ref": "A-1", "debtor_id": "1020304050", "full_name": "Ana Gómez", "balance": "1.500.000",
            "days_past_due": "45"}
    base.update(values)
    return {k: [v] for k, v in base.items()}


@pytest.mark.parametrize(("field", "value", "code"), [
    ("original_amount", "2.000.000.50", "invalid_original_amount"),  # not a number in es-CO
    ("original_amount", "-2.000.000", "invalid_original_amount"),
    ("original_amount", "1.000.000.000.000", "invalid_original_amount"),  # past what every service keeps
    ("original_amount", "2.000,505", "invalid_original_amount"),  # past the cent
    ("last_payment_amount", "cincuenta mil", "invalid_last_payment_amount"),
    ("last_payment_date", "31/02/2026", "invalid_last_payment_date"),
    ("last_payment_date", "ayer", "invalid_last_payment_date"),
    ("authorised_channels", "sms, carta", "invalid_authorised_channels"),
    ("authorised_channels", "ninguno", "invalid_authorised_channels"),
])
def test_an_optional_field_that_cannot_be_read_is_dropped_with_a_warning(field: str, value: str, code: str) -> None:
    account, rejections, warnings = check_row(_row(**{field: value}), {}, 7, CTX)
    assert account is not None and not rejections
    assert [(w.row, w.field, w.code) for w in warnings] == [(7, field, code)]
    assert "dropped" in warnings[0].message or "default" in warnings[0].message
    if field != "authorised_channels":
        assert getattr(account, field) is None


def test_channels_the_platform_knows_are_kept_and_the_others_named_in_the_warning() -> None:
    account, _, warnings = check_row(_row(authorised_channels="SMS, carta, E-mail"), {}, 3, CTX)
    assert account is not None and account.authorised_channels == ["sms", "email"]
    assert [w.message for w in warnings] == [
        "1 of the authorised channels is not a channel the platform knows (sms, email, whatsapp, voice, agent, "
        "letter); dropped"]
    # None known: the client company's default channels apply, and the warning says so.
    account, _, warnings = check_row(_row(authorised_channels="ninguno"), {}, 3, CTX)
    assert account is not None and account.authorised_channels == ["sms", "email"]
    assert warnings[0].message.endswith("the client company's default channels apply")


def test_optional_fields_that_read_are_kept_without_a_warning() -> None:
    values = _row(original_amount="2.000.000", last_payment_amount="$ 50.000,50", last_payment_date="01/03/2026",
                  authorised_channels="sms|whatsapp")
    values["original_amount"] = [Decimal("2000000.004")]  # a workbook's number: to the cent, as the balance's
    account, rejections, warnings = check_row(values, {}, 2, CTX)
    assert account is not None and not rejections and not warnings
    assert (account.original_amount, account.last_payment_amount, account.last_payment_date) == (
        Decimal("2000000.00"), Decimal("50000.50"), dt.date(2026, 3, 1))
    assert account.authorised_channels == ["sms", "whatsapp"]


@pytest.mark.parametrize(("cell", "kept", "codes"), [
    # Several addresses in one cell, as a client company's system writes them: the first valid one is kept and the
    # others are said (an account has one e-mail), never all of them dropped as one invalid address.
    ("ana@correo.co; ana.gomez@empresa.co", "ana@correo.co", ["too_many_emails"]),
    ("ana@correo.co / ana.gomez@empresa.co", "ana@correo.co", ["too_many_emails"]),
    ("ana@correo.co,ana.gomez@empresa.co", "ana@correo.co", ["too_many_emails"]),
    ("sin correo; ana@correo.co", "ana@correo.co", ["invalid_email"]),
    ("ana@correo.co ana@correo.co", "ana@correo.co", []),  # the same address twice is one
    ("ana@correo.co; luis@correo.co; ANA@correo.co", "ana@correo.co", ["too_many_emails"]),
    ("no-es-correo", None, ["invalid_email"]),
    # As a mail program or a CRM exports an address, with a display name or none: the address is kept, the name
    # (personal data nobody needs) dropped, a comma inside a quoted name splitting nothing.
    ("Ana Gómez <ana@correo.co>", "ana@correo.co", []),
    ('"Gómez, Ana" <ana@correo.co>', "ana@correo.co", []),
    ("<ana@correo.co>", "ana@correo.co", []),
    ('"Gómez; Ana / AG" <ana@correo.co>', "ana@correo.co", []),
    ("Gómez, Ana <ana@correo.co>", "ana@correo.co", []),  # Outlook's own unquoted "Surname, Name"
    ("Ana Gómez <ana@correo.co>, Ana G. <ana.gomez@empresa.co>", "ana@correo.co", ["too_many_emails"]),
    ('"Gómez, Ana" <ana@correo.co>; "Gómez, A." <ana.gomez@empresa.co>', "ana@correo.co", ["too_many_emails"]),
    ("Ana <ana@correo.co> / luis@correo.co", "ana@correo.co", ["too_many_emails"]),
    ("luis@correo.co, Ana <ana@correo.co>", "luis@correo.co", ["too_many_emails"]),
    ("Ana <ana@correo.co>, ana@correo.co", "ana@correo.co", []),  # the same address twice is one
    ("sin correo; Ana <ana@correo.co>", "ana@correo.co", []),  # the words are the name: nothing else is lost
    ("Ana <>; ana@correo.co", "ana@correo.co", ["invalid_email"]),
    # Garbage stays invalid, as before.
    ("<>", None, ["invalid_email"]),
    ("Ana <>", None, ["invalid_email"]),
    ("Ana Gómez <no-es-correo>", None, ["invalid_email"]),
    ("Ana Gómez <ana@correo.co", None, ["invalid_email"]),  # never closed
    ("Ana <ana@correo.co> <luis@correo.co>", "ana@correo.co", ["too_many_emails"]),
    ("< ana@correo.co >", "ana@correo.co", []),
    ("<ana@correo.co, luis@correo.co>", None, ["invalid_email"]),
])
def test_the_first_valid_e_mail_of_a_cell_is_kept_and_the_rest_said(cell: str, kept: str | None,
                                                                    codes: list[str]) -> None:
    account, rejections, warnings = check_row(_row(email=cell), {}, 7, CTX)
    assert account is not None and not rejections
    assert account.email == kept
    assert [(w.field, w.code) for w in warnings] == [("email", code) for code in codes]


def test_a_display_name_is_never_in_a_warning() -> None:
    _, _, warnings = check_row(_row(email="Ana Gómez <ana@correo.co>, Zoila Pérez <zoila@correo.co>, Ana <>"), {}, 7,
                               CTX)
    assert [w.code for w in warnings] == ["invalid_email", "too_many_emails"]
    assert not any(name in f"{w.message} {w.params}" for w in warnings for name in ("Ana", "Zoila", "Pérez"))


@pytest.mark.parametrize("cell", ["ana\u200b@correo.co", "\ufeffana@correo.co", "ana@correo\u00ad.co", "ana@correo.co\u200e",
                                  "ana@\u2060correo.co"])
def test_an_invisible_character_pasted_into_an_e_mail_is_no_part_of_it(cell: str) -> None:
    # Text copied from a web page, a chat or a PDF carries zero-width spaces, soft hyphens, direction marks and
    # byte-order marks no one sees in the file: the address kept with one is another address, and bounces.
    account, _, warnings = check_row(_row(email=cell), {}, 7, CTX)
    assert account is not None and account.email == "ana@correo.co" and not warnings
    account, _, warnings = check_row(_row(email=f"Ana <{cell}>; luis@correo.co"), {}, 7, CTX)
    assert account is not None and account.email == "ana@correo.co"
    assert [w.code for w in warnings] == ["too_many_emails"]
